import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mergeReports } from '../../plugins/report/merge.ts';
import type { ShipgateRecord } from '../../plugins/report/model.ts';
import { writeRecords } from '../../plugins/report/records.ts';
import { DEFAULT_SINKS, renderReport, resolveSinks } from '../../plugins/report/sinks/index.ts';
import { budgetRecord, loadRecord, migrationRecord } from './sample-records.ts';

const root = path.resolve(import.meta.dirname, '../..');
const schemas = path.join(import.meta.dirname, 'schemas');

function runIn(dir: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', SHIPGATE_REPORT_DIR: dir, ...env },
      stdio: 'ignore',
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

let dir: string;
let lines: string[] = [];
let exitCode: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'shipgate-report-'));
  // Real producers: a child Vitest run and a child Playwright run, through shipgate's reporters.
  await runIn(dir, path.join(root, 'node_modules/.bin/vitest'), [
    'run',
    '--config',
    'specs/fixtures-vitest/report.config.ts',
  ]);
  await runIn(dir, path.join(root, 'node_modules/.bin/playwright'), [
    'test',
    '--config',
    'specs/fixtures-playwright/playwright.config.ts',
  ]);
  process.env.SHIPGATE_REPORT_DIR = dir;
  writeRecords('budget', [
    budgetRecord(),
    budgetRecord({ id: 'budget › w', name: 'POST /api/tickets', status: 'passed', regression: true }),
  ]);
  writeRecords('k6', [loadRecord()]);
  writeRecords('migrate-smoke', [
    migrationRecord(),
    migrationRecord({
      id: 'migration › safe',
      name: 'locks: safe twin',
      status: 'passed',
      metrics: { durationMs: 12, lockHoldMs: 1, rewrites: 0 },
      evidence: { verdict: 'SAFE' },
    }),
  ]);
  delete process.env.SHIPGATE_REPORT_DIR;
  const report = mergeReports([dir]);
  lines = [];
  exitCode = await renderReport(report, resolveSinks(DEFAULT_SINKS), {
    outDir: dir,
    env: {},
    write: (t) => lines.push(...t.trimEnd().split('\n')),
  });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const byName = (records: ShipgateRecord[], name: string) => records.find((r) => r.name === name);

describe('adapters feed one model', () => {
  test('Vitest outcomes become records, flaky included', () => {
    const { records } = mergeReports([dir]);
    const vitest = records.filter((r) => r.runner === 'vitest');
    expect(vitest.map((r) => [r.name, r.status]).sort()).toEqual([
      ['fails with a message', 'failed'],
      ['is skipped', 'skipped'],
      ['passes on retry', 'flaky'],
      ['passes', 'passed'],
    ]);
    const failed = byName(vitest, 'fails with a message');
    expect(failed?.message).toContain("expected 'actual value' to be 'expected value'");
    expect(failed).toMatchObject({ kind: 'test', suite: ['mix'], file: 'specs/fixtures-vitest/report-mix.fixture.ts' });
    expect(byName(vitest, 'passes on retry')?.retries).toBe(1);
  });

  test('Playwright outcomes become e2e records; passed-on-retry is flaky, not passed', () => {
    const { records } = mergeReports([dir]);
    const pw = records.filter((r) => r.runner === 'playwright');
    expect(pw.map((r) => [r.name, r.status]).sort()).toEqual([
      ['fails every attempt', 'failed'],
      ['is skipped', 'skipped'],
      ['passes on retry', 'flaky'],
      ['passes', 'passed'],
    ]);
    expect(byName(pw, 'fails every attempt')).toMatchObject({ kind: 'e2e', retries: 1 });
  });

  test('every record file carries the commit', () => {
    const { commit } = mergeReports([dir]);
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
    expect(commit).toBe(head);
  });
});

describe('sinks', () => {
  test('console: failures first with their numbers; the last line is the summary', () => {
    expect(lines.at(-1)).toBe('shipgate: 7 passed, 4 failed, 2 skipped');
    const attention = lines.indexOf('shipgate: results that need attention');
    expect(attention).toBeGreaterThanOrEqual(0);
    const firstFailure = lines.slice(attention + 1).find((l) => l.includes('✗'));
    expect(firstFailure).toMatch(/\[(migration|e2e|test)\] failed/);
    expect(lines.join('\n')).toContain('ACCESS EXCLUSIVE on "tickets" held 380 ms');
    expect(lines.join('\n')).toContain('p95Ms 8.9 ms / 200 ms (+9.9% vs baseline)');
    expect(exitCode).toBe(2);
  });

  test('junit.xml validates against the JUnit schema and has budgets and migrations as test cases', () => {
    const xml = path.join(dir, 'junit.xml');
    const res = spawnSync('xmllint', ['--noout', '--schema', path.join(schemas, 'junit-10.xsd'), xml], {
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    const text = readFileSync(xml, 'utf8');
    expect(text).toContain('name="example reads › GET /api/tickets"');
    expect(text).toContain(
      '<failure type="migration violation" message="ACCESS EXCLUSIVE on &quot;tickets&quot; held 380 ms; table rewritten">',
    );
    expect(text).toContain('<failure type="regression"');
    expect(text).toMatch(/<flakyFailure type="flaky"/);
  });

  test('ctrf.json validates against the CTRF schema, with shipgate data under extra', () => {
    const schema = JSON.parse(readFileSync(path.join(schemas, 'ctrf.schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: false });
    // ajv-formats is CommonJS: under NodeNext its default import is the module object.
    const addFormats = (ajvFormats as unknown as { default: (a: Ajv) => void }).default ?? ajvFormats;
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const doc = JSON.parse(readFileSync(path.join(dir, 'ctrf.json'), 'utf8'));
    expect(validate(doc), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(doc.results.summary).toMatchObject({ tests: 13, passed: 8, failed: 3, skipped: 2, other: 0, flaky: 2 });
    const budget = doc.results.tests.find((t: { name: string }) => t.name === 'example reads › GET /api/tickets');
    expect(budget.extra.shipgate.budgets.p95Ms).toEqual({
      value: 8.9,
      limit: 200,
      baseline: 8.1,
      deltaPct: 9.9,
      ok: true,
    });
  });

  test('summary.md shows the verdict, failures first, and budget deltas against the baseline', () => {
    const md = readFileSync(path.join(dir, 'summary.md'), 'utf8');
    expect(md.startsWith('<!-- shipgate-report -->\n## shipgate ❌ failed (exit code 2)')).toBe(true);
    expect(md.indexOf('### Needs attention')).toBeLessThan(md.indexOf('### Performance budgets'));
    expect(md).toContain('| ✅ | example reads › GET /api/tickets | p95Ms | 8.9 ms | 200 ms | 8.1 ms | +9.9% |');
    expect(md).toContain('### Migration checks');
  });

  test('report.json holds the merged records, counts and exit code', () => {
    const doc = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(doc.records).toHaveLength(13);
    expect(doc.counts).toMatchObject({ passed: 7, failed: 4, skipped: 2, exitCode: 2, regressions: 1 });
  });
});
