/**
 * Migration smoke on schema changes that lock, rewrite or fail: each unsafe case asserts its
 * verdict and its evidence (SQLSTATE, lock mode, rewritten relations, squawk rule), and each
 * has a safe twin that must stay SAFE.
 */
import { afterAll } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { checkOf, findings, headWith, leftovers, problems, smokeOn } from './helpers.ts';

const PREFIX = 'sgsma';
let adminUrl = '';

describe('migration smoke: locks, rewrites and failures', { timeout: 60_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('NOT NULL column without a default on a non-empty table: FAIL with SQLSTATE 23502', async ({ shipgate }) => {
    adminUrl = shipgate.adminUrl;
    const r = await smokeOn(shipgate, PREFIX, headWith('not-null-no-default'));
    expect(r.verdict).toBe('FAIL');
    expect(r.exitCode).toBe(2);
    const [failed] = findings(r, 'apply/failed');
    expect(failed).toMatchObject({
      verdict: 'FAIL',
      migration: '20250201000000_add_phone',
      evidence: { sqlstate: '23502', line: 2 },
    });
    expect(failed?.message).toContain('column "phone" of relation "users" contains null values');
    // The lock was taken before the failure, and the history row is left failed (P3009 next time).
    expect(r.files[0]?.error?.sqlstate).toBe('23502');
    expect(r.files[0]?.locks.find((l) => l.relation === 'users')?.mode).toBe('AccessExclusiveLock');
    expect(findings(r, 'recorded/failed-row')[0]?.evidence).toEqual({ sqlstate: '23502' });
    // squawk guessed it; the measurement confirms it.
    expect(findings(r, 'lint/adding-required-field')[0]?.evidence?.confirmedBy).toContain('apply/failed');
    expect(checkOf(r, 'drift').verdict).toBe('SKIPPED');
  });

  test('twin: NOT NULL with a constant default is metadata-only: SAFE, no rewrite', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('not-null-with-default'));
    expect(problems(r)).toEqual([]);
    expect(r.verdict).toBe('SAFE');
    expect(r.exitCode).toBe(0);
    expect(r.files).toHaveLength(1);
    expect(r.files[0]?.rewritten).toEqual([]);
    // ACCESS EXCLUSIVE for a moment, seen by the watcher, within the lock budget.
    const lock = r.files[0]?.locks.find((l) => l.relation === 'users');
    expect(lock).toMatchObject({ mode: 'AccessExclusiveLock', existed: true, rows: 200 });
    expect(lock?.holdMs).toBeLessThan(1000);
  });

  test('CREATE INDEX without CONCURRENTLY on a populated table: UNSAFE, ShareLock blocks writes for the build', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('index-blocking'), { rowsPerTable: { orders: 5000 } });
    expect(r.verdict).toBe('UNSAFE');
    expect(r.exitCode).toBe(2);
    const [build] = findings(r, 'locks/blocking-index-build');
    expect(build).toMatchObject({
      verdict: 'UNSAFE',
      target: 'orders',
      migration: '20250201000000_orders_placed_at',
      evidence: { index: 'orders_placedAt_idx', rows: 5000, lockMode: 'ShareLock' },
    });
    expect(build?.evidence?.holdMs).toBeGreaterThan(0);
    expect(r.files[0]?.created).toEqual([{ relation: 'orders_placedAt_idx', kind: 'index', table: 'orders' }]);
    expect(findings(r, 'lint/require-concurrent-index-creation')[0]?.verdict).toBe('WARN');
    expect(r.failing).toEqual(['locks/blocking-index-build:orders']);
  });

  test('twin: CREATE INDEX CONCURRENTLY alone in its file: SAFE under ShareUpdateExclusiveLock', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('index-concurrently'), { rowsPerTable: { orders: 5000 } });
    expect(problems(r)).toEqual([]);
    expect(r.verdict).toBe('SAFE');
    const lock = r.files[0]?.locks.find((l) => l.relation === 'orders');
    expect(lock).toMatchObject({ mode: 'ShareUpdateExclusiveLock', blocksWrites: false });
    expect(r.files[0]?.created.map((c) => c.relation)).toEqual(['orders_placedAt_idx']);
    expect(checkOf(r, 'invariants').evidence.invalidIndexes).toBe(0);
  });

  test('CONCURRENTLY inside a multi-statement file: FAIL 25001, and squawk says why', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('concurrently-in-multi'));
    expect(r.verdict).toBe('FAIL');
    expect(findings(r, 'apply/failed')[0]).toMatchObject({
      migration: '20250201000000_orders_channel',
      evidence: { sqlstate: '25001' },
    });
    expect(findings(r, 'apply/failed')[0]?.message).toContain(
      'CREATE INDEX CONCURRENTLY cannot run inside a transaction block',
    );
    expect(findings(r, 'lint/ban-concurrent-index-creation-in-transaction')).toHaveLength(1);
    expect(checkOf(r, 'lint').evidence.assumeInTransaction).toEqual(['20250201000000_orders_channel']);
    // The failed file rolled back as a whole: no column, no index, no data change.
    expect(checkOf(r, 'data').verdict).toBe('SAFE');
  });

  test('twin: the same change split so CONCURRENTLY is alone in its file: SAFE', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('concurrently-alone'));
    expect(problems(r)).toEqual([]);
    expect(r.files.map((f) => f.migration)).toEqual([
      '20250201000000_orders_channel',
      '20250201000001_orders_channel_index',
    ]);
    expect(checkOf(r, 'lint').evidence.assumeInTransaction).toEqual([]);
  });

  test('text → varchar(500) rewrites the table: UNSAFE with the rewritten relations and ACCESS EXCLUSIVE', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('text-to-varchar'));
    expect(r.verdict).toBe('UNSAFE');
    const [rewrite] = findings(r, 'locks/table-rewrite');
    expect(rewrite).toMatchObject({ target: 'products', evidence: { rows: 200, lockMode: 'AccessExclusiveLock' } });
    expect(rewrite?.evidence?.rewritten).toEqual(expect.arrayContaining(['products', 'products_pkey']));
    expect(r.files[0]?.rewritten.find((x) => x.relation === 'products')).toEqual({
      relation: 'products',
      kind: 'table',
      rows: 200,
    });
    expect(r.files[0]?.walBytes).toBeGreaterThan(0);
    // Same values after the rewrite: nothing lost, only the lock is the problem.
    expect(checkOf(r, 'data').verdict).toBe('SAFE');
  });

  test('text → varchar(255) over the seeded 300-character values: FAIL 22001, the truncation is caught', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('text-to-varchar-short'));
    expect(r.verdict).toBe('FAIL');
    expect(findings(r, 'apply/failed')[0]?.evidence?.sqlstate).toBe('22001');
  });

  test('twin: varchar(40) → text is metadata-only: SAFE, and squawk changing-column-type is refuted', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('varchar-to-text'));
    expect(problems(r)).toEqual([]);
    expect(r.files[0]?.rewritten).toEqual([]);
    expect(findings(r, 'lint/changing-column-type')[0]).toMatchObject({
      verdict: 'SAFE',
      evidence: { refutedBy: expect.stringContaining('no rewrite') },
    });
  });

  test('numeric(10,2) → integer: UNSAFE, rounded values counted per column with before/after samples', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('numeric-to-integer'));
    expect(r.verdict).toBe('UNSAFE');
    const [changed] = findings(r, 'data/values-changed');
    expect(changed).toMatchObject({
      target: 'products.price',
      evidence: { typeBefore: 'numeric(10,2)', typeAfter: 'integer', rows: 200 },
    });
    expect(changed?.evidence?.changed).toBeGreaterThan(150);
    const sample = changed?.evidence?.sample as { before: string; after: string }[];
    expect(sample.length).toBeGreaterThan(0);
    for (const s of sample) expect(Math.round(Number(s.before))).toBe(Number(s.after));
    expect(sample.some((s) => s.before !== s.after)).toBe(true);
    expect(findings(r, 'locks/table-rewrite')[0]?.target).toBe('products');
  });

  test('twin: numeric(10,2) → numeric(14,2) keeps every value and the file: SAFE', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('numeric-wider'));
    expect(problems(r)).toEqual([]);
    expect(r.files[0]?.rewritten).toEqual([]);
    expect(checkOf(r, 'data').evidence.tables).toContainEqual({ table: 'products', before: 200, after: 200, lost: 0 });
  });

  test('production-like session settings reach the migrating session', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('settings-check'), {
      settings: { lockTimeout: '3s', timeZone: 'America/Sao_Paulo', statementTimeout: '30s' },
    });
    expect(findings(r, 'apply/failed')).toEqual([]);
    expect(r.verdict).toBe('SAFE');
    expect(checkOf(r, 'apply').evidence.settings).toEqual({
      timeZone: 'America/Sao_Paulo',
      lockTimeout: '3s',
      statementTimeout: '30s',
    });
    // And without them the same migration fails, so the check above can fail.
    const plain = await smokeOn(shipgate, PREFIX, headWith('settings-check'));
    expect(findings(plain, 'apply/failed')[0]?.message).toContain(
      'settings not applied: lock_timeout=5s, TimeZone=UTC',
    );
  });
});
