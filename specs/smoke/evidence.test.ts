/**
 * Migration smoke evidence that is never wrong (issue 15 §7): each class of mislabel has a case
 * that used to produce it, asserts the evidence text it must give and what it must not say, and a
 * twin where the old words are the right ones (a real rewrite still "grows with the table", a
 * real rounding still says "rounded"). Cases under fixtures/cases/ev-<name>/ may hold a `base/`
 * folder: migrations added to the shop on both sides, so the head adds only the rest.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { MigrationError } from '../../plugins/core/errors.ts';
import { describeApplyError, MigrationFailedError } from '../../plugins/migrate/migration-failure.ts';
import { prismaSqlMigrator } from '../../plugins/migrate/prisma-sql.ts';
import { Databases } from '../../plugins/postgres/databases.ts';
import type { SessionRuntime } from '../../plugins/session.ts';
import { applyCheck, connect } from '../../plugins/smoke/check-kit.ts';
import { describeUnmodeled, unmodeledObjects } from '../../plugins/smoke/sql-objects.ts';
import type { Finding, SmokeResult } from '../../plugins/smoke/types.ts';
import { checkOf, findings, leftovers, SHOP, smokeOn } from './helpers.ts';

const PREFIX = 'sgsme';
const CASES = path.join(import.meta.dirname, 'fixtures', 'cases');
let adminUrl = '';

/** Base and head folders of a case: the shop plus the case's `base/` folders, and head adds the others. */
function sides(name: string): { base: string; head: string } {
  const tmp = (side: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), `shipgate-evidence-${side}-`));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const base = tmp('base');
  cpSync(SHOP, base, { recursive: true });
  const extra = path.join(CASES, name, 'base');
  if (existsSync(extra))
    for (const f of readdirSync(extra)) cpSync(path.join(extra, f), path.join(base, f), { recursive: true });
  const head = tmp('head');
  cpSync(base, head, { recursive: true });
  for (const f of readdirSync(path.join(CASES, name)).filter((f) => f !== 'base'))
    cpSync(path.join(CASES, name, f), path.join(head, f), { recursive: true });
  return { base, head };
}

function smokeCase(shipgate: SessionRuntime, name: string, extra: Parameters<typeof smokeOn>[3] = {}) {
  const { base, head } = sides(name);
  return smokeOn(shipgate, PREFIX, head, { base, ...extra });
}

const messages = (r: SmokeResult): string[] => r.checks.flatMap((c) => c.findings.map((f: Finding) => f.message));
const seeded = (r: SmokeResult, table: string) => r.seed?.tables.find((t) => t.table === table)?.rows;

describe('migration smoke: evidence that is never wrong', { timeout: 90_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('TRUNCATE empties the table: a brief ACCESS EXCLUSIVE and all rows lost, not a rewrite that grows', async ({
    shipgate,
  }) => {
    adminUrl = shipgate.adminUrl;
    const r = await smokeCase(shipgate, 'ev-truncate');
    const rows = seeded(r, 'order_items') as number;
    expect(rows).toBeGreaterThan(0);
    expect(findings(r, 'locks/table-rewrite')).toEqual([]);
    expect(messages(r).filter((m) => /grows with the table/.test(m))).toEqual([]);
    expect(r.files[0]?.rewritten.find((x) => x.relation === 'order_items')).toMatchObject({ emptied: true });
    const [emptied] = findings(r, 'locks/table-emptied');
    expect(emptied).toMatchObject({
      target: 'order_items',
      migration: '20250201000000_clear_order_items',
      evidence: { rows, lockMode: 'AccessExclusiveLock' },
    });
    expect(emptied?.message).toContain('was emptied, not rewritten');
    expect(emptied?.message).toContain('under AccessExclusiveLock');
    expect(emptied?.message).toContain('the time does not grow with the table');
    expect(emptied?.message).toContain(`all ${rows} rows are gone`);
    const [lost] = findings(r, 'data/rows-lost');
    expect(lost).toMatchObject({
      verdict: 'UNSAFE',
      target: 'order_items',
      migration: '20250201000000_clear_order_items',
      evidence: { lost: rows, after: 0, emptied: true, truncatedBy: '20250201000000_clear_order_items' },
    });
    expect(lost?.message).toBe(
      `Table "order_items" was emptied: all ${rows} rows are gone (TRUNCATE in "20250201000000_clear_order_items").`,
    );
    expect(lost?.message).not.toContain('cascaded');
  });

  test('twin: a real rewrite (ALTER COLUMN TYPE) still grows with the table and lists every index', async ({
    shipgate,
  }) => {
    const r = await smokeCase(shipgate, 'ev-rewrite-type');
    expect(findings(r, 'locks/table-emptied')).toEqual([]);
    const [rewrite] = findings(r, 'locks/table-rewrite');
    expect(rewrite?.target).toBe('orders');
    expect(rewrite?.message).toContain('the time grows with the table');
    expect(rewrite?.evidence?.rewritten).toEqual(['orders', 'orders_pkey', 'orders_userId_idx']);
    expect(r.files[0]?.rewritten.some((x) => x.emptied)).toBe(false);
  });

  test('a rewrite that re-creates the index on the changed column lists it as rebuilt, not created', async ({
    shipgate,
  }) => {
    const r = await smokeCase(shipgate, 'ev-index-rebuilt');
    const [rewrite] = findings(r, 'locks/table-rewrite');
    expect(rewrite?.target).toBe('orders');
    expect([...((rewrite?.evidence?.rewritten as string[] | undefined) ?? [])].sort()).toEqual([
      'orders',
      'orders_pkey',
      'orders_userId_idx',
    ]);
    expect(rewrite?.message).toContain('orders_userId_idx');
    expect(r.files[0]?.rewritten).toContainEqual({
      relation: 'orders_userId_idx',
      kind: 'index',
      table: 'orders',
      rows: 200,
    });
    expect(r.files[0]?.created).toEqual([]);
    expect(r.files[0]?.dropped).toEqual([]);
    expect(findings(r, 'locks/blocking-index-build')).toEqual([]);
  });

  test('a binary-compatible type change re-registers the index on its old storage: nothing built, SAFE', async ({
    shipgate,
  }) => {
    // varchar(40) → varchar(80): Postgres re-creates the index (new oid) but keeps its relfilenode.
    const r = await smokeCase(shipgate, 'ev-index-kept');
    expect(r.files[0]).toMatchObject({ rewritten: [], created: [], dropped: [] });
    expect(findings(r, 'locks/blocking-index-build')).toEqual([]);
    expect(r.verdict).toBe('SAFE');
  });

  test('scalar → array (USING ARRAY[x]) wraps values: says so, never "rounding" or "truncation"', async ({
    shipgate,
  }) => {
    const r = await smokeCase(shipgate, 'ev-scalar-to-array');
    expect(messages(r).filter((m) => /round|truncat/i.test(m))).toEqual([]);
    const [changed] = findings(r, 'data/values-changed');
    // The seed leaves every 7th note NULL: 29 of 200; ARRAY[NULL] is {NULL}, which is not NULL.
    expect(changed).toMatchObject({
      target: 'orders.note',
      evidence: { changed: 29, typeBefore: 'text', typeAfter: 'text[]', effect: 'wrapped', using: 'ARRAY["note"]' },
    });
    expect(changed?.message).toBe(
      'Column "orders.note": 29 of 200 values changed by the type change text → text[], which wraps each value in an array: 29 NULLs became {NULL} (an array holding NULL, which `IS NULL` no longer matches); 171 other values are kept as one-element arrays.',
    );
    expect(checkOf(r, 'data').evidence.wrapped).toEqual([
      { column: 'orders.note', typeBefore: 'text', typeAfter: 'text[]', kept: 171, values: 171 },
    ]);
  });

  test('twin: numeric(10,2) → numeric(10,1) really rounds: still says rounded, with samples that agree', async ({
    shipgate,
  }) => {
    const r = await smokeCase(shipgate, 'ev-numeric-scale');
    const [changed] = findings(r, 'data/values-changed');
    expect(changed).toMatchObject({ target: 'products.price', evidence: { effect: 'rounded' } });
    expect(changed?.message).toContain(
      'by the type change numeric(10,2) → numeric(10,1), which keeps 1 decimal place (rounded).',
    );
    expect(changed?.message).not.toMatch(/wrap|truncat/);
    const sample = changed?.evidence?.sample as { before: string; after: string }[];
    for (const s of sample) expect(Math.abs(Number(s.before) - Number(s.after))).toBeLessThanOrEqual(0.05);
  });

  test('numeric → bigint USING (price * 100) is the expression, not rounding', async ({ shipgate }) => {
    const r = await smokeCase(shipgate, 'ev-numeric-using');
    const [changed] = findings(r, 'data/values-changed');
    expect(changed).toMatchObject({
      target: 'products.price',
      evidence: { effect: 'converted', using: '("price" * 100)::BIGINT' },
    });
    expect(changed?.message).toContain('numeric(10,2) → bigint USING ("price" * 100)::BIGINT');
    expect(changed?.message).not.toMatch(/round|truncat/);
  });

  test("functions and triggers are listed as objects Prisma doesn't model; extension and FK triggers are not", async ({
    shipgate,
  }) => {
    const { head } = sides('ev-sql-objects');
    const dbs = new Databases(shipgate.adminUrl, { prefix: PREFIX, major: shipgate.major });
    onTestFinished(async () => {
      await dbs.dropRun();
      await dbs.close();
    });
    const list = async (dir: string) => {
      const db = await dbs.createEmpty(1);
      await prismaSqlMigrator({ migrationsDir: dir }).migrate(db.url);
      const c = await connect(db.url);
      try {
        return await unmodeledObjects(c);
      } finally {
        await c.end();
      }
    };
    const objects = await list(head);
    expect(objects).toEqual([
      { kind: 'function', name: 'order_total', args: 'order_id integer' },
      { kind: 'function', name: 'orders_keep_total', args: '' },
      { kind: 'trigger', name: 'orders_keep_total', table: 'orders' },
    ]);
    expect(describeUnmodeled(objects)).toBe(
      'function "order_total"(order_id integer), function "orders_keep_total"(), trigger "orders_keep_total" on "orders"',
    );
    // The shop alone: foreign keys' internal triggers and the generated column are not such objects.
    expect(await list(SHOP)).toEqual([]);
  });

  test('the smoke lists those objects with the drift check, as information: drift cannot see them', async ({
    shipgate,
    skip,
  }) => {
    const schema = path.join(import.meta.dirname, 'fixtures', 'shop', 'schema.prisma');
    const r = await smokeCase(shipgate, 'ev-sql-objects', { schema });
    const drift = checkOf(r, 'drift');
    // Without a schema engine the drift check, and the list with it, is skipped with its reason.
    skip(drift.verdict === 'SKIPPED', `drift skipped: ${drift.reason}`);
    expect(findings(r, 'drift/schema-differs')).toEqual([]);
    const [listed] = findings(r, 'objects/unmodeled');
    expect(listed?.verdict).toBe('INFO');
    expect(listed?.message).toContain(
      'function "order_total"(order_id integer), function "orders_keep_total"(), trigger "orders_keep_total" on "orders"',
    );
    expect(drift.verdict).toBe('SAFE');
  });

  test('a folder without migration.sql is refused before it runs: its name and what refused it', async ({
    shipgate,
  }) => {
    const r = await smokeCase(shipgate, 'ev-refused');
    const [failed] = findings(r, 'apply/failed');
    expect(failed).toMatchObject({
      migration: '20250201000000_orders_channel',
      target: '20250201000000_orders_channel',
      evidence: { refusedBy: 'prisma-sql (SHIPGATE_MIGRATION_FILE_MISSING, Prisma P3015)' },
    });
    expect(failed?.message).toMatch(
      /^Migration "20250201000000_orders_channel" was refused before it ran, by prisma-sql \(SHIPGATE_MIGRATION_FILE_MISSING, Prisma P3015\): Migration folder "20250201000000_orders_channel" has no readable migration\.sql/,
    );
    expect(failed?.message).toContain('none of its statements ran');
    expect(failed?.message).not.toContain('"?"');
    expect(failed?.message).not.toContain('SQLSTATE none');
  });

  test('errors that are not from Postgres say so instead of "SQLSTATE none"', () => {
    const settings = { timeZone: 'UTC', lockTimeout: '5s', statementTimeout: '60s' };
    const lost = new MigrationFailedError(
      {
        migration: '20250201000000_orders_channel',
        file: '/m/20250201000000_orders_channel/migration.sql',
        location: { found: false, of: 1, why: 'the connection was lost' },
        postgres: { code: undefined, message: 'Connection terminated unexpectedly' },
        recorded: false,
      },
      { cause: new Error('Connection terminated unexpectedly') },
    );
    expect(describeApplyError(lost, 'prisma-sql')).toEqual({
      migration: '20250201000000_orders_channel',
      sqlstate: undefined,
      notPostgres: true,
      message: 'Connection terminated unexpectedly',
    });
    const refused = new MigrationError('SHIPGATE_MIGRATION_BLOCKED', 'Database "x" has 1 failed migration(s).');
    expect(describeApplyError(refused, 'prisma-sql', '20250201000000_next')).toMatchObject({
      migration: '20250201000000_next',
      refusedBy: 'prisma-sql (SHIPGATE_MIGRATION_BLOCKED)',
    });
    const message = (f: Parameters<typeof applyCheck>[0]) => applyCheck(f, [], [], settings).findings[0]?.message;
    expect(
      message({
        migration: '20250201000000_orders_channel',
        sqlstate: undefined,
        notPostgres: true,
        message: 'Connection terminated unexpectedly',
        lockWaitMs: 0,
      }),
    ).toBe(
      'Migration "20250201000000_orders_channel" failed without a SQLSTATE (the error is not from Postgres): Connection terminated unexpectedly; it waited 0 ms for locks before failing.',
    );
  });

  test('identifiers are quoted once: "Order_id_seq", not ""Order_id_seq""', async ({ shipgate }) => {
    const r = await smokeCase(shipgate, 'ev-quoted-sequence');
    const [behind] = findings(r, 'invariants/sequence-behind');
    expect(behind).toMatchObject({ target: 'Order_id_seq', evidence: { column: 'Order.id', lastValue: '1' } });
    expect(behind?.message).toBe(
      `Sequence "Order_id_seq" is at 1 but "Order.id" holds ${behind?.evidence?.max}: the next inserts fail with duplicate keys (23505).`,
    );
    expect(checkOf(r, 'invariants').evidence.sequences).toContainEqual(
      expect.objectContaining({ sequence: 'Order_id_seq', column: 'Order.id' }),
    );
    expect(messages(r).filter((m) => m.includes('""'))).toEqual([]);
  });

  test('a history row without finished_at, rolled_back_at or logs is unfinished, not failed', async ({ shipgate }) => {
    const r = await smokeCase(shipgate, 'ev-interrupted');
    expect(findings(r, 'recorded/failed-row')).toEqual([]);
    const [row] = findings(r, 'recorded/unfinished-row');
    expect(row).toMatchObject({
      verdict: 'FAIL',
      migration: '20250201000000_session_killed',
      evidence: { state: 'unfinished' },
    });
    expect(row?.message).toContain('an unfinished row for "20250201000000_session_killed"');
    expect(row?.message).toContain('in progress or interrupted');
    expect(row?.message).not.toContain('failed row');
    expect(findings(r, 'apply/failed')[0]?.evidence?.sqlstate).toBe('57P01');
  });

  test('twin: a row with logs after an error is failed, with its SQLSTATE', async ({ shipgate }) => {
    const r = await smokeCase(shipgate, 'not-null-no-default');
    const [row] = findings(r, 'recorded/failed-row');
    expect(row?.evidence).toEqual({ sqlstate: '23502' });
    expect(row?.message).toContain('a failed row for "20250201000000_add_phone" (SQLSTATE 23502)');
    expect(findings(r, 'recorded/unfinished-row')).toEqual([]);
  });
});
