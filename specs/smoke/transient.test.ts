/**
 * Transient failures (issue 15 §5): a migration cancelled by lock_timeout (SQLSTATE 55P03)
 * while another session holds a lock it needs. A real blocker session on the smoke's database
 * holds the lock during the apply: it is opened by the seed function, after the rows are in,
 * and released when the apply step ends. A clean rollback is WARN, "retry needed", naming the
 * blocker and the `_prisma_migrations` row to resolve; an INVALID index left by CREATE INDEX
 * CONCURRENTLY is FAIL with the fix. Each has a twin without the blocker that stays SAFE.
 */
import pg from 'pg';
import { afterAll } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import type { SessionRuntime } from '../../plugins/session.ts';
import { smokeRecords } from '../../plugins/smoke/index.ts';
import { seedByIntrospection } from '../../plugins/smoke/seed.ts';
import { checkOf, dumpToolsFor, findings, headWith, leftovers, problems, smokeOn } from './helpers.ts';

const PREFIX = 'sgsmt';
const LOCK_TIMEOUT = '500ms';
let adminUrl = '';

/** A seed that generates the usual rows, then (with `hold`) leaves a session of "nightly-report" holding a lock. */
function seeding(hold?: string[]) {
  const state: { blocker?: pg.Client; pid?: number } = {};
  const seed = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await seedByIntrospection(c, { rows: 200, rowsPerTable: {}, seedValue: 1 });
    } finally {
      await c.end();
    }
    if (!hold) return;
    const blocker = new pg.Client({ connectionString: url, application_name: 'nightly-report' });
    blocker.on('error', () => {});
    await blocker.connect();
    state.pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    for (const sql of hold) await blocker.query(sql);
    state.blocker = blocker;
  };
  const release = async () => {
    const b = state.blocker;
    state.blocker = undefined;
    await b?.query('ROLLBACK').catch(() => {});
    await b?.end().catch(() => {});
  };
  // The smoke logs "shipgate smoke: apply-head N ms" once the apply step is over.
  const log = (line: string) => {
    if (line.startsWith('shipgate smoke: apply-head')) void release();
  };
  return { state, seed, log, release };
}

function run(shipgate: SessionRuntime, head: string, hold?: string[]) {
  const s = seeding(hold);
  return {
    blocker: s.state,
    result: smokeOn(shipgate, PREFIX, head, {
      seed: s.seed,
      log: s.log,
      settings: { lockTimeout: LOCK_TIMEOUT },
    }).finally(s.release),
  };
}

describe('migration smoke: lock_timeout, a transient failure', { timeout: 90_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('a lock_timeout abort that rolled back cleanly: WARN "retry needed", the blocker and the resolve command', async ({
    shipgate,
    skip,
  }) => {
    adminUrl = shipgate.adminUrl;
    // Without a pg_dump of the server major the backup is a template copy, which ends every session on the database.
    if (!dumpToolsFor(shipgate)) skip(`no pg_dump ${shipgate.major}: the template-copy backup would end the blocker`);
    const head = headWith('lock-timeout-add-column');
    const { blocker, result } = run(shipgate, head, ['BEGIN', 'SELECT count(*) FROM orders']);
    const r = await result;
    const name = '20250201000000_orders_priority';
    expect(r).toMatchObject({ verdict: 'WARN', exitCode: 0, failing: [] });
    expect(findings(r, 'apply/failed')).toEqual([]);
    const [timeout] = findings(r, 'apply/lock-timeout');
    expect(timeout).toMatchObject({
      verdict: 'WARN',
      migration: name,
      evidence: {
        sqlstate: '55P03',
        resolve: `prisma migrate resolve --rolled-back ${name}`,
        fixes: [],
        lockTimeout: {
          waitingFor: { locktype: 'relation', relation: 'orders', mode: 'AccessExclusiveLock' },
          blockers: [
            {
              pid: blocker.pid,
              application: 'nightly-report',
              state: 'idle in transaction',
              query: 'SELECT count(*) FROM orders',
              locks: expect.arrayContaining([{ relation: 'orders', mode: 'AccessShareLock' }]),
            },
          ],
          prismaRow: { migration: name },
          debris: [],
        },
      },
    });
    expect(timeout?.message).toContain(
      `Migration "${name}" hit lock_timeout ${LOCK_TIMEOUT} waiting for AccessExclusiveLock on "orders" and rolled back cleanly: retry needed.`,
    );
    expect(timeout?.message).toMatch(
      new RegExp(
        `Blocked by pid ${blocker.pid} \\(application "nightly-report", user "[^"]+", idle in transaction, transaction open \\d+ ms, query "SELECT count\\(\\*\\) FROM orders"\\)\\.`,
      ),
    );
    expect(timeout?.message).toContain(`run \`prisma migrate resolve --rolled-back ${name}\``);
    // The failed row is what the retry resolves: WARN, not FAIL.
    expect(findings(r, 'recorded/retry-needed')).toEqual([
      expect.objectContaining({ verdict: 'WARN', migration: name }),
    ]);
    expect(problems(r).filter((p) => p.startsWith('FAIL') || p.startsWith('UNSAFE'))).toEqual([]);
    // Nothing left behind: the column is not there, no INVALID index.
    expect(checkOf(r, 'invariants').evidence.invalidIndexes).toBe(0);
    expect(r.files[0]?.error?.sqlstate).toBe('55P03');
    expect(r.files[0]?.lockTimeout?.blockers.map((b) => b.pid)).toEqual([blocker.pid]);
    // The file's report record: a retry, not a failure.
    expect(smokeRecords(r).find((x) => x.name === `apply: ${name}`)).toMatchObject({
      status: 'passed',
      evidence: { verdict: 'WARN', error: { sqlstate: '55P03' } },
    });

    // Twin: no blocker, the same migration applies: SAFE.
    const free = await run(shipgate, head).result;
    expect(problems(free)).toEqual([]);
    expect(free).toMatchObject({ verdict: 'SAFE', exitCode: 0 });
  });

  test('a lock_timeout abort of CREATE INDEX CONCURRENTLY leaves an INVALID index: FAIL, with DROP INDEX CONCURRENTLY', async ({
    shipgate,
    skip,
  }) => {
    adminUrl = shipgate.adminUrl;
    if (!dumpToolsFor(shipgate)) skip(`no pg_dump ${shipgate.major}: the template-copy backup would end the blocker`);
    const head = headWith('index-concurrently');
    // A writer in an open transaction: CONCURRENTLY waits for it after creating the (still invalid) index.
    const { blocker, result } = run(shipgate, head, [
      'BEGIN',
      'UPDATE orders SET note = note WHERE id = (SELECT min(id) FROM orders)',
    ]);
    const r = await result;
    const name = '20250201000000_orders_placed_at';
    expect(r).toMatchObject({ verdict: 'FAIL', exitCode: 2 });
    const [debris] = findings(r, 'apply/lock-timeout-debris');
    expect(debris).toMatchObject({
      verdict: 'FAIL',
      migration: name,
      evidence: {
        sqlstate: '55P03',
        resolve: `prisma migrate resolve --rolled-back ${name}`,
        fixes: ['DROP INDEX CONCURRENTLY IF EXISTS public."orders_placedAt_idx";'],
        lockTimeout: {
          waitingFor: { locktype: 'virtualxid', relation: null, mode: 'ShareLock' },
          blockers: [
            expect.objectContaining({
              pid: blocker.pid,
              application: 'nightly-report',
              state: 'idle in transaction',
              query: 'UPDATE orders SET note = note WHERE id = (SELECT min(id) FROM orders)',
            }),
          ],
          debris: [
            {
              relation: 'orders_placedAt_idx',
              kind: 'index',
              invalid: true,
              fix: 'DROP INDEX CONCURRENTLY IF EXISTS public."orders_placedAt_idx";',
            },
          ],
        },
      },
    });
    expect(debris?.message).toContain(
      `Migration "${name}" hit lock_timeout ${LOCK_TIMEOUT} waiting for ShareLock on a virtualxid`,
    );
    expect(debris?.message).toContain('left debris behind: INVALID index "orders_placedAt_idx"');
    expect(debris?.message).toContain(
      `Fix: \`DROP INDEX CONCURRENTLY IF EXISTS public."orders_placedAt_idx";\`, then run \`prisma migrate resolve --rolled-back ${name}\``,
    );
    expect(findings(r, 'apply/lock-timeout')).toEqual([]);
    expect(findings(r, 'invariants/invalid-index')[0]).toMatchObject({
      verdict: 'FAIL',
      target: 'orders_placedAt_idx',
    });
    expect(findings(r, 'recorded/failed-row')[0]).toMatchObject({ verdict: 'FAIL', migration: name });
    expect(smokeRecords(r).find((x) => x.name === `apply: ${name}`)).toMatchObject({
      status: 'failed',
      evidence: { verdict: 'FAIL' },
    });

    // Twin: no blocker, CONCURRENTLY builds a valid index: SAFE.
    const free = await run(shipgate, head).result;
    expect(problems(free)).toEqual([]);
    expect(checkOf(free, 'invariants').evidence.invalidIndexes).toBe(0);
  });
});
