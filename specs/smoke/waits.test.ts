/**
 * Waits are not holds (issue 15 §3). A real blocker session on the smoke's database, opened by
 * the seed function after the rows are in and released when the apply step ends, holds a lock
 * in an open transaction; the migration queues behind it until lock_timeout aborts it. The
 * watcher must report the wait (how long, for what, blocked by which pid and query) and no
 * hold: the lock was never granted. Both a relation lock (ACCESS EXCLUSIVE behind ACCESS SHARE)
 * and a wait for another session's transaction (CREATE INDEX CONCURRENTLY) are covered.
 */
import pg from 'pg';
import { afterAll } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import type { SessionRuntime } from '../../plugins/session.ts';
import { seedByIntrospection } from '../../plugins/smoke/seed.ts';
import { dumpToolsFor, findings, headWith, leftovers, smokeOn } from './helpers.ts';

const PREFIX = 'sgsmw';
let adminUrl = '';

function withBlocker(shipgate: SessionRuntime, head: string, hold: string[]) {
  const state: { blocker?: pg.Client; pid?: number } = {};
  const release = async () => {
    const b = state.blocker;
    state.blocker = undefined;
    await b?.query('ROLLBACK').catch(() => {});
    await b?.end().catch(() => {});
  };
  const seed = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await seedByIntrospection(c, { rows: 200, rowsPerTable: {}, seedValue: 1 });
    } finally {
      await c.end();
    }
    const blocker = new pg.Client({ connectionString: url, application_name: 'psql' });
    blocker.on('error', () => {});
    await blocker.connect();
    state.pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    for (const sql of hold) await blocker.query(sql);
    state.blocker = blocker;
  };
  const result = smokeOn(shipgate, PREFIX, head, {
    seed,
    settings: { lockTimeout: '600ms' },
    log: (line) => {
      if (line.startsWith('shipgate smoke: apply-head')) void release();
    },
  }).finally(release);
  return { state, result };
}

describe('migration smoke: waits are not holds', { timeout: 90_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('ACCESS EXCLUSIVE queued behind an open ACCESS SHARE and never granted: waited N ms, not held, blocker named', async ({
    shipgate,
    skip,
  }) => {
    adminUrl = shipgate.adminUrl;
    if (!dumpToolsFor(shipgate)) skip(`no pg_dump ${shipgate.major}: the template-copy backup would end the blocker`);
    const { state, result } = withBlocker(shipgate, headWith('lock-timeout-add-column'), [
      'BEGIN',
      'SELECT count(*) FROM orders',
    ]);
    const r = await result;
    const file = r.files[0];
    expect(file?.error?.sqlstate).toBe('55P03');
    const lock = file?.locks.find((l) => l.relation === 'orders');
    expect(lock).toMatchObject({ mode: 'AccessExclusiveLock', holdMs: 0, granted: false });
    expect(lock?.waitedMs).toBeGreaterThanOrEqual(500);
    const wait = file?.waits?.find((w) => w.relation === 'orders');
    expect(wait).toMatchObject({ locktype: 'relation', mode: 'AccessExclusiveLock', granted: false });
    expect(wait?.waitedMs).toBeGreaterThanOrEqual(500);
    expect(wait?.blockers).toEqual([
      { pid: state.pid, application: 'psql', state: 'idle in transaction', query: 'SELECT count(*) FROM orders' },
    ]);
    const [finding] = findings(r, 'locks/lock-wait');
    expect(finding?.message).toMatch(
      new RegExp(
        `waited [\\d,]+ ms for AccessExclusiveLock on "orders", blocked by pid ${state.pid} \\(psql: SELECT count\\(\\*\\) FROM orders\\) — not held`,
      ),
    );
    // Never "held": no lock finding judges a hold that did not happen.
    expect(findings(r, 'locks/long-blocking-lock')).toEqual([]);
  });

  test('CREATE INDEX CONCURRENTLY waiting for another session’s transaction: the wait, its blocker, not held', async ({
    shipgate,
    skip,
  }) => {
    if (!dumpToolsFor(shipgate)) skip(`no pg_dump ${shipgate.major}: the template-copy backup would end the blocker`);
    const { state, result } = withBlocker(shipgate, headWith('index-concurrently'), [
      'BEGIN',
      'UPDATE orders SET note = note WHERE id = 1',
    ]);
    const r = await result;
    const file = r.files[0];
    expect(file?.error?.sqlstate).toBe('55P03');
    const wait = file?.waits?.find((w) => w.locktype === 'virtualxid' || w.locktype === 'transactionid');
    expect(wait).toMatchObject({ mode: 'ShareLock', granted: false });
    expect(wait?.waitedMs).toBeGreaterThanOrEqual(500);
    expect(wait?.blockers.map((b) => b.pid)).toEqual([state.pid]);
    expect(wait?.blockers[0]?.query).toBe('UPDATE orders SET note = note WHERE id = 1');
    expect(findings(r, 'locks/lock-wait')[0]?.message).toMatch(
      new RegExp(
        `waited [\\d,]+ ms for ShareLock on another session's transaction \\(its snapshot\\), blocked by pid ${state.pid} \\(psql: UPDATE orders SET note = note WHERE id = 1\\) — not held`,
      ),
    );
  });
});
