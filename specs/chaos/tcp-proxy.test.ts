import pg from 'pg';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/chaos.ts';
import { ChaosError } from '../../plugins/chaos/guard.ts';
import { startTcpProxy } from '../../plugins/chaos/tcp-proxy.ts';
import { summarize } from '../../plugins/core/stats.ts';

/** A pg client through `url` whose 'error' events are recorded (a reset must not crash the test process). */
async function client(url: string, config: Partial<pg.ClientConfig> = {}) {
  const c = new pg.Client({ connectionString: url, ...config });
  const errors: Error[] = [];
  c.on('error', (err) => errors.push(err));
  onTestFinished(() => c.end().catch(() => undefined));
  await c.connect();
  return Object.assign(c, { errors });
}

/** Milliseconds of `fn`, from performance.now() (unrounded). */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/** Round trips of `SELECT 1` on `c`, in ms. */
async function roundTrips(c: pg.Client, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await timed(() => c.query('SELECT 1'))).ms);
  return out;
}

/** The error `promise` rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const result = await promise.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
  expect(result, 'expected a rejection').toBeInstanceOf(Error);
  return result as Error & { code?: string };
}

describe('tcp fault proxy in front of the test database', () => {
  test('forwards Postgres traffic unchanged and counts it', async ({ chaos, db }) => {
    const c = await client(chaos.dbUrl);
    const { rows } = await c.query<{ db: string; port: number }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(db.name);
    expect(new URL(chaos.dbUrl).port).toBe(String(chaos.db.port));
    const stats = chaos.db.stats();
    expect(stats).toMatchObject({ accepted: 1, active: 1, resets: 0 });
    expect(stats.bytesUpstream).toBeGreaterThan(50);
    expect(stats.bytesDownstream).toBeGreaterThan(50);
  });

  test('latency delays every reply; jitter spreads the delay; direction "both" counts twice', async ({ chaos }) => {
    const c = await client(chaos.dbUrl);
    const base = summarize(await roundTrips(c, 20));

    chaos.db.latency({ ms: 60 });
    const fixed = summarize(await roundTrips(c, 8));
    // A timer never fires early, so every round trip carries the whole delay.
    expect(fixed.min).toBeGreaterThanOrEqual(59);
    expect(fixed.p50).toBeLessThan(60 + base.p50 + 100);

    chaos.db.latency({ ms: 60, jitterMs: 40 });
    const jittered = summarize(await roundTrips(c, 30));
    // Delays are drawn from 20..100 ms: never below 20, and (timers never firing early) only
    // jitter can bring a round trip under the nominal 60.
    expect(jittered.min).toBeGreaterThanOrEqual(19);
    expect(jittered.min, JSON.stringify(jittered)).toBeLessThan(55);
    expect(jittered.p50).toBeLessThan(60 + base.p50 + 100);

    chaos.db.latency({ ms: 0 }).latency({ ms: 50, direction: 'both' });
    const both = summarize(await roundTrips(c, 5));
    expect(both.min).toBeGreaterThanOrEqual(99);

    await chaos.db.clear();
    const after = summarize(await roundTrips(c, 10));
    expect(after.min).toBeLessThan(40);
  });

  test('reset: an in-flight query fails with ECONNRESET; new connections work', async ({ chaos }) => {
    const c = await client(chaos.dbUrl);
    const sleeping = c.query('SELECT pg_sleep(3)');
    await new Promise((r) => setTimeout(r, 200));
    expect(chaos.db.reset()).toBe(1);
    const err = await rejection(sleeping);
    expect(err.code).toBe('ECONNRESET');
    expect(chaos.db.stats().resets).toBe(1);
    const fresh = await client(chaos.dbUrl);
    expect((await fresh.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  test('loseReply: the INSERT commits, but the client only sees a reset', async ({ chaos, db }) => {
    const c = await client(chaos.dbUrl);
    const lost = chaos.db.loseReply(/INSERT INTO users/);
    const err = await rejection(c.query("INSERT INTO users (email, name) VALUES ('lost@example.test', 'Lost')"));
    expect(err.code).toBe('ECONNRESET');
    expect(await lost).toBe(true);
    expect(await db.rows('SELECT email FROM users WHERE email = $1', ['lost@example.test'])).toEqual([
      { email: 'lost@example.test' },
    ]);
  });

  test('down for N ms: refuses connections, cuts open ones, then comes back by itself', async ({ chaos }) => {
    const open = await client(chaos.dbUrl);
    const downAt = performance.now();
    await chaos.db.down({ ms: 400 });
    expect(chaos.db.isDown).toBe(true);
    await rejection(open.query('SELECT 1'));
    const refused = await rejection(client(chaos.dbUrl));
    expect(refused.code).toBe('ECONNREFUSED');
    let back = 0;
    for (let i = 0; i < 60 && !back; i++) {
      await new Promise((r) => setTimeout(r, 50));
      back = await client(chaos.dbUrl).then(
        () => performance.now() - downAt,
        () => 0,
      );
    }
    expect(back).toBeGreaterThanOrEqual(400);
    expect(back).toBeLessThan(2_000);
    expect(chaos.db.isDown).toBe(false);
  });

  test('down as a black hole: connects hang until the client gives up; up() restores', async ({ chaos }) => {
    await chaos.db.down({ mode: 'blackhole' });
    const { ms, value: err } = await timed(() => rejection(client(chaos.dbUrl, { connectionTimeoutMillis: 300 })));
    expect(err.message).toMatch(/timeout/i);
    expect(ms).toBeGreaterThanOrEqual(295);
    expect(chaos.db.stats().turnedAway).toBe(1);
    await chaos.db.up();
    expect((await (await client(chaos.dbUrl)).query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });

  test('down with resets: each new connection is reset at once', async ({ chaos }) => {
    await chaos.db.down({ mode: 'reset' });
    const err = await rejection(client(chaos.dbUrl));
    expect(err.code ?? err.message).toMatch(/ECONNRESET|terminated/);
    await chaos.db.up();
    await client(chaos.dbUrl);
  });

  test('drop: open connections go silent, and only the client timeout notices', async ({ chaos }) => {
    const c = await client(chaos.dbUrl, { query_timeout: 300 });
    expect(chaos.db.drop()).toBe(1);
    const { ms, value: err } = await timed(() => rejection(c.query('SELECT 1')));
    expect(err.message).toMatch(/timeout/i);
    expect(ms).toBeGreaterThanOrEqual(295);
    // New connections are not affected.
    expect((await (await client(chaos.dbUrl)).query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    expect(chaos.db.stats().dropped).toBe(1);
  });

  test('bandwidth limits a large result to about the configured rate', async ({ chaos }) => {
    const c = await client(chaos.dbUrl);
    const big = `SELECT repeat('x', ${1024 * 1024}) AS blob`;
    const free = await timed(() => c.query(big));
    expect(free.value.rows[0]?.blob).toHaveLength(1024 * 1024);
    chaos.db.bandwidth({ bytesPerSecond: 2 * 1024 * 1024, direction: 'downstream' });
    const limited = await timed(() => c.query(big));
    expect(limited.value.rows[0]?.blob).toHaveLength(1024 * 1024);
    // 1 MiB at 2 MiB/s: 500 ms of transmission.
    expect(limited.ms).toBeGreaterThanOrEqual(480);
    expect(limited.ms).toBeLessThan(2_500);
    expect(free.ms).toBeLessThan(limited.ms / 2);
  });

  test('bad settings are reported with every problem at once', async ({ chaos }) => {
    const err = (() => {
      try {
        chaos.db.latency({ ms: -5, jitterMs: Number.NaN });
      } catch (e) {
        return e as ChaosError;
      }
    })();
    expect(err).toBeInstanceOf(ChaosError);
    expect(err?.code).toBe('SHIPGATE_CHAOS_CONFIG');
    expect(err?.message).toContain('latency ms must be a number ≥ 0 (got -5)');
    expect(err?.message).toContain('latency jitterMs must be a number ≥ 0 (got null)');
    await expect(startTcpProxy({ target: 'not a target' })).rejects.toThrow(
      /TCP proxy target "not a target" is not host:port or a URL/,
    );
    await expect(chaos.db.down({ mode: 'sideways' as 'refuse' })).rejects.toThrow(
      /mode must be refuse, reset or blackhole/,
    );
  });
});
