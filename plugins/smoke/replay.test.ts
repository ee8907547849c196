/** Parsing of recorded statements (no database): the three formats, comments, control statements, bad content. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { judge, MAX_RECORDED, readRecorded, splitSql } from './replay.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-replay-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('recorded statements', () => {
  test('.sql: split at ; ending a line, comment-only chunks dropped, line numbers kept', () => {
    expect(
      splitSql(
        '-- header\nSELECT 1;\n\n/* note */\nSELECT "a"\n  FROM t; -- trailing\nSELECT \';\' AS x;\n-- only a comment;\nSELECT 4\n-- mid;\n, 5',
      ),
    ).toEqual([
      { text: 'SELECT 1;', values: [], where: 'line 2' },
      { text: '/* note */\nSELECT "a"\n  FROM t; -- trailing', values: [], where: 'line 4' },
      { text: "SELECT ';' AS x;", values: [], where: 'line 7' },
      { text: 'SELECT 4\n-- mid;\n, 5', values: [], where: 'line 9' },
    ]);
  });

  test('.json and .ndjson of {text, values?}; transaction control is left out and counted', () => {
    const json = readRecorded(
      write('a.json', JSON.stringify([{ text: 'SELECT $1', values: [1] }, { text: 'COMMIT' }, { text: 'SELECT 2' }])),
    );
    expect(json.statements.map((s) => [s.text, s.values, s.source])).toEqual([
      ['SELECT $1', [1], 'recorded #1 (index 0)'],
      ['SELECT 2', [], 'recorded #2 (index 2)'],
    ]);
    expect(json).toMatchObject({ total: 2, skipped: 1 });
    const nd = readRecorded(
      write('a.ndjson', '{"text":"SELECT 1"}\n\n{"text":"  -- c\\n begin"}\n{"text":"SELECT 3"}\n'),
    );
    expect(nd.statements.map((s) => s.source)).toEqual(['recorded #1 (line 1)', 'recorded #2 (line 4)']);
    expect(nd.skipped).toBe(1);
  });

  test(`at most ${MAX_RECORDED} statements are kept, the total says how many there were`, () => {
    const many = Array.from({ length: MAX_RECORDED + 3 }, (_, i) => ({ text: `SELECT ${i}` }));
    const r = readRecorded(write('many.json', JSON.stringify(many)));
    expect(r.statements).toHaveLength(MAX_RECORDED);
    expect(r.total).toBe(MAX_RECORDED + 3);
  });

  test('bad content: one ConfigError naming the file, where, what and the fix', () => {
    const file = write(
      'bad.json',
      JSON.stringify([{ text: 'SELECT 1' }, 'SELECT 2', { text: '' }, { text: 'x', values: {} }]),
    );
    let err: unknown;
    try {
      readRecorded(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.split(';')[0])).toEqual([
      `${file}: index 1: is a string, not an object`,
      `${file}: index 2: "text" is a string, not a non-empty string`,
      `${file}: index 3: "values" is an object, not an array`,
    ]);
    expect((err as ConfigError).message).toContain('(--replay-queries, env SHIPGATE_SMOKE_REPLAY_QUERIES)');
    expect(() => readRecorded(write('x.txt', 'SELECT 1'))).toThrow(
      /extension "\.txt" is not \.sql, \.json or \.ndjson/,
    );
    expect(() => readRecorded(write('y.json', '{"text":'))).toThrow(/y\.json: not JSON/);
    expect(() => readRecorded(write('z.json', '{"text":"SELECT 1"}'))).toThrow(/z\.json: is an object, not an array/);
  });
});

describe('judge', () => {
  const err = (sqlstate: string) => ({ ok: false as const, sqlstate, message: sqlstate });
  test('broken only where the target fails on the schema and the base works or stops at the data', () => {
    expect(judge(err('42703'), { ok: true })).toBe('broken');
    expect(judge(err('23502'), err('23505'))).toBe('broken');
    expect(judge(err('42703'), undefined)).toBe('broken');
    expect(judge(err('42703'), err('42703'))).toBe('inconclusive');
    expect(judge(err('23505'), err('23505'))).toBe('ok');
    expect(judge(err('57014'), { ok: true })).toBe('inconclusive');
    expect(judge({ ok: true }, err('42703'))).toBe('ok');
  });
});
