/**
 * Old code on the new schema (issue 15 §8): the base's queries, replayed on the migrated
 * database and on the restored base copy, break on a dropped or renamed column, a renamed table
 * and a required column old INSERTs omit; each case has a safe twin with no breakage. Recorded
 * statements break the same way, or say nothing when they fail on the base too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { ConfigError } from '../../plugins/core/errors.ts';
import type { SmokeResult } from '../../plugins/smoke/types.ts';
import { checkOf, findings, headWith, leftovers, smokeOn } from './helpers.ts';

const PREFIX = 'sgsmr';
let adminUrl = '';

const breaks = (r: SmokeResult) => findings(r, 'replay/query-breaks');

/** A recorded-statements file with `lines` in a temp folder. */
function recordedFile(name: string, lines: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-replay-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('migration smoke: old code on the new schema', { timeout: 60_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('a dropped column breaks every Prisma-shaped query of its model: UNSAFE on the column', async ({ shipgate }) => {
    adminUrl = shipgate.adminUrl;
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-drop-column'));
    expect(r.verdict).toBe('UNSAFE');
    expect(breaks(r)).toHaveLength(1);
    const [broken] = breaks(r);
    expect(broken).toMatchObject({
      verdict: 'UNSAFE',
      target: 'users.nickname',
      migration: '20250201000000_drop_nickname',
      evidence: {
        sqlstate: '42703',
        base: 'ok',
        differential: true,
        sources: ['read of model users', 'create of model users', 'update of model users', 'delete of model users'],
      },
    });
    expect(broken?.evidence?.statement).toMatch(/^SELECT "id", "email", "name", "nickname", "createdAt" FROM/);
    expect(broken?.message).toContain('SQLSTATE 42703');
    expect(broken?.message).toContain('on the base copy they work');
    expect(broken?.message).toContain('keep the column until the base no longer reads it');
    expect(broken?.message).toContain('--allow replay/query-breaks:users.nickname');
    const replay = checkOf(r, 'replay');
    expect(replay.verdict).toBe('UNSAFE');
    expect(replay.evidence).toMatchObject({ differential: true, broken: 4, inconclusive: 0, sources: { recorded: 0 } });
    expect(replay.evidence.replayed).toBe((replay.evidence.sources as { prisma: number }).prisma);
  });

  test('twin: a column added nullable breaks nothing', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-add-nullable'));
    expect(breaks(r)).toEqual([]);
    expect(checkOf(r, 'replay')).toMatchObject({ verdict: 'SAFE', evidence: { broken: 0, differential: true } });
    expect(checkOf(r, 'replay').evidence.replayed).toBeGreaterThanOrEqual(16);
  });

  test('a renamed column: UNSAFE on the old name', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-rename-column'));
    expect(breaks(r).map((f) => [f.target, f.evidence?.sqlstate, f.migration])).toEqual([
      ['users.name', '42703', '20250201000000_rename_name'],
    ]);
    expect(checkOf(r, 'data').verdict).toBe('SAFE');
  });

  test('twin: a column added NOT NULL with a default breaks nothing', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-add-with-default'));
    expect(breaks(r)).toEqual([]);
    expect(checkOf(r, 'replay').verdict).toBe('SAFE');
  });

  test('a renamed table: UNSAFE on the table, 42P01', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-rename-table'));
    const [broken] = breaks(r);
    expect(breaks(r)).toHaveLength(1);
    expect(broken).toMatchObject({
      target: 'orders',
      migration: '20250201000000_rename_orders',
      evidence: { sqlstate: '42P01', base: 'ok' },
    });
    expect(broken?.message).toContain('a view by its old name');
  });

  test('twin: a new table breaks nothing', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-new-table'));
    expect(breaks(r)).toEqual([]);
    expect(checkOf(r, 'replay').verdict).toBe('SAFE');
  });

  test('a NOT NULL column without a default: the base create fails 23502 where the base copy reaches the data', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-not-null-no-default'));
    expect(checkOf(r, 'apply').verdict).toBe('SAFE');
    expect(breaks(r)).toHaveLength(1);
    const [broken] = breaks(r);
    expect(broken).toMatchObject({
      target: 'orders.currency',
      migration: '20250201000000_order_currency',
      evidence: { sqlstate: '23502', sources: ['create of model orders'] },
    });
    // The copied row is a duplicate key on the base: the data, not the schema.
    expect(broken?.evidence?.base).toMatch(/^SQLSTATE 23505/);
    expect(broken?.message).toContain('on the base copy it stops only at the data (SQLSTATE 23505');
    expect(broken?.message).toContain('add the column nullable or with a default');
  });

  test('twin: NOT NULL with a default that stays breaks nothing', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-not-null-with-default'));
    expect(breaks(r)).toEqual([]);
    expect(checkOf(r, 'replay').verdict).toBe('SAFE');
  });

  test('recorded statements: one reads the dropped column (breaks), one fails on the base too (inconclusive)', async ({
    shipgate,
  }) => {
    const file = recordedFile('queries.ndjson', [
      JSON.stringify({ text: 'SELECT "id", "nickname" FROM "users" WHERE "id" = $1', values: [1] }),
      JSON.stringify({ text: 'BEGIN' }),
      JSON.stringify({ text: 'SELECT "missing" FROM "users"' }),
    ]);
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-drop-column'), { replayQueries: file });
    const [broken] = breaks(r);
    expect(broken?.target).toBe('users.nickname');
    expect(broken?.evidence?.sources).toContain('recorded #1 (line 1)');
    const [info] = findings(r, 'replay/recorded-inconclusive');
    expect(info).toMatchObject({ verdict: 'INFO', evidence: { count: 1, sources: ['recorded #2 (line 3)'] } });
    expect(info?.message).toContain('fails on the base copy too');
    expect(info?.message).toContain('SQLSTATE 42703');
    expect(checkOf(r, 'replay').evidence.sources).toMatchObject({ recorded: 2, skippedTransactionControl: 1 });
  });

  test('twin: the same recorded statements on a safe head: no breakage, the stale one still inconclusive', async ({
    shipgate,
  }) => {
    const file = recordedFile('queries.ndjson', [
      JSON.stringify({ text: 'SELECT "id", "nickname" FROM "users" WHERE "id" = $1', values: [1] }),
      JSON.stringify({ text: 'SELECT "missing" FROM "users"' }),
    ]);
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-add-nullable'), { replayQueries: file });
    expect(breaks(r)).toEqual([]);
    expect(findings(r, 'replay/recorded-inconclusive')[0]?.evidence?.count).toBe(1);
    expect(checkOf(r, 'replay').verdict).toBe('SAFE');
    expect(r.verdict).toBe('SAFE');
  });

  test('a bad recorded file: one ConfigError naming the file, each bad line and the fix', async ({ shipgate }) => {
    const file = recordedFile('bad.ndjson', [
      JSON.stringify({ text: 'SELECT 1' }),
      JSON.stringify({ txt: 'SELECT 2' }),
      'SELECT 3',
      JSON.stringify({ text: 'SELECT $1', values: 4 }),
    ]);
    const run = smokeOn(shipgate, PREFIX, headWith('rp-add-nullable'), { replayQueries: file });
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    const err = (await run.catch((e: unknown) => e)) as ConfigError;
    expect(err.problems).toHaveLength(3);
    expect(err.problems[0]).toContain(`${file}: line 2: "text" is missing, not a non-empty string`);
    expect(err.problems[1]).toContain(`${file}: line 3: not JSON`);
    expect(err.problems[2]).toContain(`${file}: line 4: "values" is a number, not an array`);
    expect(err.message).toContain('--replay-queries, env SHIPGATE_SMOKE_REPLAY_QUERIES');
  });

  test('replay: false skips the check with the reason', async ({ shipgate }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('rp-drop-column'), { replay: false });
    expect(checkOf(r, 'replay')).toMatchObject({
      verdict: 'SKIPPED',
      reason: 'replay: false (SHIPGATE_SMOKE_REPLAY=0)',
    });
    expect(breaks(r)).toEqual([]);
  });
});
