import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { mergeReports, ReportInputError } from '../../plugins/report/merge.ts';

/**
 * `shipgate report` refuses input it cannot trust (issue 14 #11): a directory that does not
 * exist (one lost shard must not merge into a green report) and record files whose records
 * break the model. Each problem names the file, the record, the field, the value seen
 * (secrets as ***) and what is expected; the exit code is 64 (usage) or 65 (unusable records).
 */

const root = path.resolve(import.meta.dirname, '..', '..');
const cli = path.join(root, 'plugins', 'cli', 'shipgate.ts');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'shipgate-report-input-'));
  dirs.push(d);
  return d;
}

const good = (over: Record<string, unknown> = {}) => ({
  id: 'test › a.test.ts › works',
  kind: 'test',
  runner: 'vitest',
  name: 'works',
  suite: [],
  status: 'passed',
  durationMs: 3,
  ...over,
});
function writeFile(dir: string, name: string, records: unknown[], over: Record<string, unknown> = {}): string {
  mkdirSync(path.join(dir, 'records'), { recursive: true });
  const file = path.join(dir, 'records', name);
  const body = {
    format: 'shipgate.records/v1',
    producer: 'vitest',
    startedAt: 'a',
    finishedAt: 'b',
    records,
    errors: [],
  };
  writeFileSync(file, JSON.stringify({ ...body, ...over }, null, 2));
  return file;
}
const report = (args: string[]) =>
  spawnSync(process.execPath, [cli, 'report', '--sinks', 'console', ...args], { encoding: 'utf8', env: process.env });

describe('report input directories', () => {
  test('a directory that does not exist is an error naming it and the fix, also next to one that does', () => {
    const ok = tempDir();
    writeFile(ok, 'a.json', [good()]);
    const lost = path.join(tempDir(), 'shard-2');
    expect(() => mergeReports([ok, lost])).toThrow(ReportInputError);
    expect(() => mergeReports([ok, lost])).toThrow(
      `Report directory "${lost}" does not exist. Pass the directories the runners wrote to (\`shipgate report <dir…>\`), or set SHIPGATE_REPORT_DIR to it (default .shipgate/report).`,
    );
    const run = report([ok, lost]);
    expect(run.status).toBe(64);
    expect(run.stderr).toContain(`ReportInputError [SHIPGATE_REPORT_DIR_MISSING]: Report directory "${lost}"`);
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  test('SHIPGATE_REPORT_DIR naming a directory that does not exist is the same error', () => {
    const lost = path.join(tempDir(), 'nowhere');
    const run = spawnSync(process.execPath, [cli, 'report'], {
      encoding: 'utf8',
      env: { ...process.env, SHIPGATE_REPORT_DIR: lost },
    });
    expect(run.status).toBe(64);
    expect(run.stderr).toContain(`Report directory "${lost}" does not exist`);
  });
});

describe('record files', () => {
  test('every invalid field of every file is named at once: file, record, field, value, expectation', () => {
    const dir = tempDir();
    const a = writeFile(dir, 'a.json', [
      good(),
      good({ id: 'x', status: 'pased', durationMs: '12' }),
      good({ id: 'y', name: undefined, kind: 'unit', durationMs: null }),
      good({ id: 'z', status: 'postgres://app:s3cret-in-a-record@db/app' }),
    ]);
    const b = path.join(dir, 'records', 'b.json');
    writeFileSync(b, '{"format": "shipgate.records/v1", "records": [');
    const err = (() => {
      try {
        mergeReports([dir]);
      } catch (e) {
        return e as ReportInputError;
      }
    })();
    expect(err).toBeInstanceOf(ReportInputError);
    expect(err?.code).toBe('SHIPGATE_REPORT_INPUT');
    const lines = err?.message.split('\n') ?? [];
    expect(lines[0]).toBe('2 record files are unusable (fix or delete them, or re-run the step that wrote them):');
    expect(lines.slice(1, 7)).toEqual([
      `  - "${a}": records[1] ("x").status is "pased"; expected one of passed, failed, skipped, flaky, inconclusive`,
      `  - "${a}": records[1] ("x").durationMs is "12"; expected a finite number of milliseconds >= 0`,
      `  - "${a}": records[2] ("y").name is missing; expected a non-empty string`,
      `  - "${a}": records[2] ("y").kind is "unit"; expected one of test, e2e, budget, load, migration`,
      `  - "${a}": records[2] ("y").durationMs is null; expected a finite number of milliseconds >= 0`,
      `  - "${a}": records[3] ("z").status is "postgres://app:***@db/app"; expected one of passed, failed, skipped, flaky, inconclusive`,
    ]);
    expect(lines[7]).toMatch(new RegExp(`^  - "${b}" is not valid JSON: `));
    expect(err?.message).not.toContain('s3cret');

    const run = report([dir]);
    expect(run.status).toBe(65);
    expect(run.stderr).toContain('ReportInputError [SHIPGATE_REPORT_INPUT]: 2 record files are unusable');
    expect(run.stderr).not.toContain('s3cret');
  });

  test('a bad shard label in a file is named with SHIPGATE_SHARD', () => {
    const dir = tempDir();
    const f = writeFile(dir, 'a.json', [good()], { shard: '3/2' });
    expect(() => mergeReports([dir])).toThrow(
      `"${f}": shard is "3/2"; expected i/n with 1 <= i <= n, e.g. 2/4 (this process's CI shard) (written with SHIPGATE_SHARD)`,
    );
  });

  test('valid files still merge and render', () => {
    const dir = tempDir();
    writeFile(dir, 'a.json', [good(), good({ id: 'f', status: 'failed', message: 'boom', retries: 1 })]);
    const run = report([dir]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stdout).toMatch(/shipgate: 1 passed, 1 failed/);
  });
});
