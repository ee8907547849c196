/**
 * Migration smoke on data loss: each unsafe case asserts its verdict and evidence (rows and
 * values lost per table and column, SQLSTATE), and each has a safe twin that must stay SAFE.
 */
import { afterAll } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { checkOf, findings, headWith, leftovers, problems, smokeOn } from './helpers.ts';

const PREFIX = 'sgsmb';
let adminUrl = '';

describe('migration smoke: data lost or changed', { timeout: 60_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('a column drop: UNSAFE with the number of values lost', async ({ shipgate }) => {
    adminUrl = shipgate.adminUrl;
    const r = await smokeOn(shipgate, PREFIX, headWith('column-drop'));
    expect(r.verdict).toBe('UNSAFE');
    const [dropped] = findings(r, 'data/column-dropped');
    expect(dropped).toMatchObject({
      target: 'users.nickname',
      migration: '20250201000000_drop_nickname',
      evidence: { type: 'character varying(40)', added: [] },
    });
    // Every 7th row is NULL on purpose, so 200 - 29 rows held a value.
    expect(dropped?.evidence?.values).toBe(171);
    expect(findings(r, 'lint/ban-drop-column')[0]?.evidence?.confirmedBy).toEqual(['data/column-dropped']);
  });

  test('the same drop, accepted with allow: WARN and exit 0 (and failOn turns it back)', async ({ shipgate }) => {
    const head = headWith('column-drop');
    // A planned drop is accepted twice over: the values it loses, and the base's queries it breaks.
    const allowed = await smokeOn(shipgate, PREFIX, head, {
      allow: ['data/column-dropped:users.nickname', 'replay/query-breaks:users.nickname'],
    });
    expect(allowed.verdict).toBe('WARN');
    expect(allowed.exitCode).toBe(0);
    expect(findings(allowed, 'data/column-dropped')[0]).toMatchObject({
      verdict: 'WARN',
      allowed: 'data/column-dropped:users.nickname',
    });
    const strict = await smokeOn(shipgate, PREFIX, head, {
      allow: ['data/column-dropped:*', 'replay/query-breaks:*'],
      failOn: ['lint/ban-drop-column'],
    });
    expect(strict.exitCode).toBe(2);
    expect(strict.failing).toEqual(['lint/ban-drop-column:20250201000000_drop_nickname']);
  });

  test('twin: dropping a generated column loses nothing: SAFE', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('generated-column-drop'));
    expect(problems(r)).toEqual([]);
    expect(r.files[0]?.locks.find((l) => l.relation === 'products')?.mode).toBe('AccessExclusiveLock');
  });

  test('a Prisma-style rename (DROP + ADD): UNSAFE, the values are lost and the rename is named', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rename-drop-add'));
    expect(r.verdict).toBe('UNSAFE');
    const [dropped] = findings(r, 'data/column-dropped');
    expect(dropped).toMatchObject({ target: 'users.name', evidence: { values: 200, added: ['fullName'] } });
    expect(dropped?.message).toContain('a rename done as DROP + ADD');
  });

  test('twin: expand (ADD + backfill) keeps every value: SAFE', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rename-expand'));
    expect(problems(r)).toEqual([]);
    expect(checkOf(r, 'data').evidence.tables).toContainEqual({ table: 'users', before: 200, after: 200, lost: 0 });
  });

  test("a real RENAME COLUMN keeps the values (data SAFE); the base's queries on the old name break (replay UNSAFE)", async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rename-column'));
    expect(checkOf(r, 'data').verdict).toBe('SAFE');
    // squawk guesses that old app code breaks; the replay measures it.
    expect(problems(r)).toEqual([
      'UNSAFE replay/query-breaks:users.name',
      'WARN lint/renaming-column:20250201000000_rename_name',
    ]);
    expect(r.exitCode).toBe(2);
  });

  test('cascaded deletes and a mass UPDATE: rows and values lost, per table and column', async ({ shipgate }) => {
    const cascade = await smokeOn(shipgate, PREFIX, headWith('cascade-delete'));
    const lost = Object.fromEntries(findings(cascade, 'data/rows-lost').map((f) => [f.target, f.evidence?.lost]));
    expect(lost.users).toBe(29);
    expect(lost.orders).toBeGreaterThan(0);
    expect(Object.keys(lost).sort()).toEqual(expect.arrayContaining(['orders', 'users']));
    const update = await smokeOn(shipgate, PREFIX, headWith('mass-update'));
    const [changed] = findings(update, 'data/values-changed');
    expect(changed).toMatchObject({
      target: 'orders.total',
      evidence: { typeBefore: 'numeric(12,2)', typeAfter: 'numeric(12,2)' },
    });
    expect(changed?.evidence?.changed).toBeGreaterThan(150);
    expect(changed?.message).toContain('an UPDATE or a conversion');
  });

  test('removing an enum value that rows still use: FAIL 22P02 (the seed uses every value)', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('enum-value-removed'));
    expect(r.verdict).toBe('FAIL');
    const [failed] = findings(r, 'apply/failed');
    expect(failed?.evidence?.sqlstate).toBe('22P02');
    expect(failed?.message).toContain('"cancelled"');
  });

  test('twin: adding an enum value (with its position): SAFE', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('enum-value-added'));
    expect(problems(r)).toEqual([]);
  });

  test('a unique index over duplicate data: FAIL 23505', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('unique-over-duplicates'));
    expect(r.verdict).toBe('FAIL');
    expect(findings(r, 'apply/failed')[0]?.evidence?.sqlstate).toBe('23505');
  });

  test('twin: a unique index (CONCURRENTLY) over data that is unique: SAFE', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('unique-over-unique'));
    expect(problems(r)).toEqual([]);
    expect(r.seed?.tables).toContainEqual(expect.objectContaining({ table: 'products', rows: 200 }));
  });
});
