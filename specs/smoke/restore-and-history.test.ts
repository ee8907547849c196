/**
 * Migration smoke on invariants, restorability and history: each unsafe case asserts its
 * verdict and evidence (sequence values, pg_restore exit code and error, checksums), and each
 * has a safe twin that must stay SAFE.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { checkOf, dumpToolsFor, findings, headWith, leftovers, problems, smokeOn } from './helpers.ts';

const PREFIX = 'sgsmd';
let adminUrl = '';

describe('migration smoke: invariants, restore, history', { timeout: 60_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('a sequence reset below max(id): UNSAFE with the sequence value and the max', async ({ shipgate }) => {
    adminUrl = shipgate.adminUrl;
    const r = await smokeOn(shipgate, PREFIX, headWith('sequence-reset'));
    expect(r.verdict).toBe('UNSAFE');
    expect(findings(r, 'invariants/sequence-behind')[0]).toMatchObject({
      target: 'orders_id_seq',
      evidence: { lastValue: '1', max: '200', column: 'orders.id' },
    });
  });

  test('twin: a sequence moved to max(id): SAFE', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('sequence-to-max'));
    expect(problems(r)).toEqual([]);
    expect(checkOf(r, 'invariants').evidence.sequences).toContainEqual({
      sequence: 'orders_id_seq',
      column: 'orders.id',
      lastValue: '200',
      max: '200',
    });
  });

  test('an index expression calling an unqualified function: applies, but the dump does not restore (FAIL)', async ({
    shipgate,
    skip,
  }) => {
    if (!dumpToolsFor(shipgate)) skip(`no pg_dump ${shipgate.major} for this server (provider without a container)`);
    const r = await smokeOn(shipgate, PREFIX, headWith('function-unqualified'));
    expect(r.verdict).toBe('FAIL');
    expect(checkOf(r, 'restore-after').verdict).toBe('FAIL');
    expect(checkOf(r, 'apply').verdict).toBe('SAFE');
    expect(checkOf(r, 'restore').evidence).toMatchObject({ method: 'pg_restore --exit-on-error', exitCode: 0 });
    const [broken] = findings(r, 'restore-after/restore-failed');
    expect(broken?.verdict).toBe('FAIL');
    expect(broken?.evidence?.exitCode).toBe(1);
    expect(broken?.evidence?.stderr).toMatch(/function normalize_sku\(text\) does not exist/);
  });

  test('twin: the same index with a schema-qualified call restores: SAFE, with restore times', async ({
    shipgate,
    skip,
  }) => {
    if (!dumpToolsFor(shipgate)) skip(`no pg_dump ${shipgate.major} for this server (provider without a container)`);
    const r = await smokeOn(shipgate, PREFIX, headWith('function-qualified'));
    expect(problems(r)).toEqual([]);
    const restore = checkOf(r, 'restore').evidence;
    expect(restore).toMatchObject({ method: 'pg_restore --exit-on-error', exitCode: 0, compared: 4 });
    expect(restore.restoreMs).toBeGreaterThan(0);
    expect(checkOf(r, 'restore-after').evidence).toMatchObject({ dumpExitCode: 0, restoreExitCode: 0 });
    expect(checkOf(r, 'backup').evidence.bytes).toBeGreaterThan(1000);
  });

  test('an edited, already-applied migration: FAIL in history, and the apply warns it never re-runs', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('edited-migration'));
    expect(r.verdict).toBe('FAIL');
    expect(r.exitCode).toBe(2);
    expect(findings(r, 'history/edited')[0]).toMatchObject({
      verdict: 'FAIL',
      migration: '20250101000000_init',
      evidence: { firstDifferentLine: 9 },
    });
    expect(findings(r, 'apply/history-warning')[0]?.message).toContain('was modified after it was applied');
    expect(r.newMigrations).toEqual([]);
  });

  test('twin: the same migration with CRLF line endings only: SAFE (Prisma accepts the checksum)', async ({
    shipgate,
  }) => {
    const head = headWith();
    const file = path.join(head, '20250101000000_init', 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    const r = await smokeOn(shipgate, PREFIX, head);
    expect(problems(r)).toEqual([]);
    expect(findings(r, 'history/line-endings')[0]).toMatchObject({ verdict: 'SAFE', migration: '20250101000000_init' });
  });
});
