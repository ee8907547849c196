import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { exitCodeFor, type RecordFile } from '../../plugins/report/model.ts';

/**
 * The budget phase as `pnpm test` runs it: a child Vitest with the budget reporter. Each budget
 * test is represented by its budget record only (so an inconclusive one counts as inconclusive,
 * not as a failed test); a test that failed for another reason gets its own record.
 */
test('budget tests report through their budget records; other failures still count', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-phase-'));
  try {
    const run = spawnSync(
      path.join(root, 'node_modules', '.bin', 'vitest'),
      ['run', '--config', 'specs/budget/__fixtures__/phase.config.ts'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, SHIPGATE_REPORT_DIR: dir, CI: 'true', NO_COLOR: '1' },
        timeout: 120_000,
      },
    );
    expect(run.status, run.stdout + run.stderr).toBe(1);
    const files = readdirSync(path.join(dir, 'records')).map(
      (f) => JSON.parse(readFileSync(path.join(dir, 'records', f), 'utf8')) as RecordFile,
    );
    const records = files.flatMap((f) => f.records).sort((a, b) => a.name.localeCompare(b.name));
    expect(records.map((r) => [r.runner, r.name, r.status])).toEqual([
      ['vitest', 'crashes before measuring', 'failed'],
      ['vitest-budget', 'GET /few', 'inconclusive'],
      ['vitest-budget', 'GET /met', 'passed'],
    ]);
    expect(records[0]?.message).toBe('the fixture could not start');
    expect(records[1]?.id).toBe('budget › specs/budget/__fixtures__/phase.fixture.ts › too few samples › GET /few');
    // The one exit policy: the crash (2) wins; without it, the inconclusive budget gives 3.
    expect(exitCodeFor(records)).toBe(2);
    expect(exitCodeFor(records.filter((r) => r.runner === 'vitest-budget'))).toBe(3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
