import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateK6Script, runK6 } from '../../plugins/k6/index.ts';
import type { ShipgateRecord } from '../../plugins/report/model.ts';
import { root, runShipgate } from '../support/cli.ts';
import { first } from './fixtures/two.slo.ts';

/**
 * Bad k6 output (issue 14 #10): a summary that is truncated, empty, not JSON, of another shape or
 * missing is a `SHIPGATE_K6_SUMMARY` error naming the file, what is wrong and the fix, never a
 * raw SyntaxError. `shipgate k6 parse` exits 1 (bad input); `shipgate k6 run` gives the broken
 * SLO a failed record and runs the rest.
 *
 * k6 is not installed here, and these cases need k6 to misbehave anyway: `K6_BIN` points at
 * fixtures/k6-truncating.sh, a fault injector standing in for k6. It sends no request; it only
 * writes a broken summary where the generated script's handleSummary would (or crashes), so what
 * is tested is shipgate's handling of bad k6 output, not a k6 run.
 */

const injector = path.join(import.meta.dirname, 'fixtures', 'k6-truncating.sh');
const slos = path.join('specs', 'k6', 'fixtures', 'two.slo.ts');
// A real k6 handleSummary (3,163 bytes), the one specs/budget/k6.test.ts parses.
const real = path.join(root, 'specs', 'budget', '__fixtures__', 'k6-handle-summary.json');
// Nothing listens here: the injector sends no request.
const url = 'http://127.0.0.1:9';

let tmp = '';
const bad: Record<string, string> = {};
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'shipgate-k6-bad-'));
  const write = (name: string, content: string | Buffer) => {
    bad[name] = path.join(tmp, `${name}.summary.json`);
    writeFileSync(bad[name], content);
  };
  write('truncated', readFileSync(real).subarray(0, 2000));
  write('empty', '');
  // What a user gets by saving k6's console output instead of the summary JSON.
  write('console', '\n  scenarios: (100.00%) 1 scenario, 10 max VUs, 30s max duration\n');
  write('array', '[]\n');
  write('metricsNumber', '{"metrics": 5}\n');
  bad.missing = path.join(tmp, 'missing.summary.json');
  bad.good = path.join(tmp, 'good.summary.json');
  copyFileSync(real, bad.good);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function shipgate(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  reportDir = mkdtempSync(path.join(tmpdir(), 'shipgate-k6-report-')),
): Promise<{ code: number | null; out: string; lastLine: string; records: ShipgateRecord[] }> {
  const r = await runShipgate(args, { SHIPGATE_EXIT_POLICY: '', ...env }, reportDir);
  return { ...r, lastLine: r.out.trimEnd().split('\n').at(-1) ?? '' };
}

/** No raw JSON.parse error and no stack frames: the user sees shipgate's message only. */
function expectNoCrash(out: string) {
  expect(out).not.toContain('SyntaxError');
  expect(out).not.toMatch(/^\s+at /m);
  expect(out).not.toContain('Unhandled');
}

const FIX = 'Re-run k6 to the end and pass the JSON it writes';

describe('shipgate k6 parse: a bad summary is bad input (exit 1) naming the file, the problem and the fix', () => {
  const cases: [string, (file: string) => string][] = [
    [
      'truncated',
      (f) =>
        `k6 summary "${f}" is truncated: the JSON stops after 2,000 bytes, inside a value (line 79, column 8): it was cut off while being written or copied.`,
    ],
    ['empty', (f) => `k6 summary "${f}" is empty (0 bytes); k6 wrote no summary into it.`],
    ['console', (f) => `k6 summary "${f}" is not JSON (65 bytes): Unexpected token 's', `],
    [
      'array',
      (f) =>
        `k6 summary "${f}" has no "metrics" object; expected a k6 handleSummary, --summary-export or machine-readable (k6 1.x) JSON. The JSON is an array.`,
    ],
    [
      'metricsNumber',
      (f) =>
        `k6 summary "${f}" has no "metrics" object; expected a k6 handleSummary, --summary-export or machine-readable (k6 1.x) JSON. Its "metrics" is a number.`,
    ],
    ['missing', (f) => `k6 summary "${f}" does not exist.`],
  ];
  test.each(cases)('%s', async (name, message) => {
    const file = bad[name] as string;
    const { code, out, records } = await shipgate(['k6', 'parse', file]);
    expect(code, out).toBe(1);
    expect(out).toContain(`shipgate k6 parse: BudgetError [SHIPGATE_K6_SUMMARY]: ${message(file)}`);
    expect(out).toContain(FIX);
    expect(out).toContain('SHIPGATE_K6_SUMMARY overrides the path');
    expectNoCrash(out);
    expect(records).toEqual([]);
  });

  test('several files: every bad one is reported at once, and no records are written', async () => {
    const { code, out, records } = await shipgate([
      'k6',
      'parse',
      bad.good as string,
      bad.truncated as string,
      bad.empty as string,
    ]);
    expect(code, out).toBe(1);
    expect(out).toContain(`k6 summary "${bad.truncated}" is truncated`);
    expect(out).toContain(`k6 summary "${bad.empty}" is empty`);
    expect(out).not.toContain(bad.good);
    expectNoCrash(out);
    expect(records).toEqual([]);
  });
});

describe('shipgate k6 run: an SLO whose k6 run left no usable summary fails with the reason; the others still run', () => {
  test('first SLO truncated, second crashed: both have failed records, exit 2', async () => {
    const log = path.join(tmp, 'calls.log');
    const { code, out, lastLine, records } = await shipgate(['k6', 'run', '--slos', slos, '--url', url], {
      K6_BIN: injector,
      K6_FAULTS: 'k6-second:crash',
      K6_FAULT_LOG: log,
    });
    expect(code, out).toBe(2);
    expect(lastLine).toBe('shipgate k6: exit 2');
    expectNoCrash(out);
    expect(readFileSync(log, 'utf8')).toBe('k6-first\nk6-second\n');
    expect(records.map((r) => [r.name, r.kind, r.runner, r.status])).toEqual([
      ['GET /first', 'load', 'k6', 'failed'],
      ['GET /second', 'load', 'k6', 'failed'],
    ]);
    const [a, b] = records;
    expect(a?.message).toMatch(
      /^k6 run for SLO "k6-first": k6 summary "[^"]+\/k6\/k6-first\.summary\.json" is truncated: the JSON stops after 2,000 bytes, inside a value \(line 79, column 8\)/,
    );
    expect(a?.message).toContain(`k6 (${injector}) exited 0 after writing it; its output shows why.`);
    expect(a?.message).toContain('re-run `shipgate k6 run`');
    expect(a?.evidence).toMatchObject({ sloId: 'k6-first', k6Exit: 0, error: 'SHIPGATE_K6_SUMMARY' });
    expect(b?.message).toBe(
      'k6 run for SLO "k6-second" did not complete: k6 exited 107: script exception. It wrote no summary. Fix what k6\'s output says (in this record\'s evidence.k6Output), then re-run `shipgate k6 run`.',
    );
    expect(String(b?.evidence?.k6Output)).toContain('ReferenceError: fault injected by k6-truncating.sh');
    expect(out).toContain('shipgate k6: k6-first: k6 run for SLO "k6-first": k6 summary "');
  });

  test('an empty summary fails its SLO; one written by an earlier run is not read in place of a missing one', async () => {
    const reportDir = mkdtempSync(path.join(tmpdir(), 'shipgate-k6-report-'));
    // A good summary from an earlier run, where k6-second's would be written.
    mkdirSync(path.join(reportDir, 'k6'), { recursive: true });
    copyFileSync(real, path.join(reportDir, 'k6', 'k6-second.summary.json'));
    const { code, out, records } = await shipgate(
      ['k6', 'run', '--slos', slos, '--url', url],
      { K6_BIN: injector, K6_FAULTS: 'k6-first:empty k6-second:silent' },
      reportDir,
    );
    expect(code, out).toBe(2);
    expectNoCrash(out);
    expect(records.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(records[0]?.message).toMatch(/k6 summary "[^"]+k6-first\.summary\.json" is empty \(0 bytes\)/);
    expect(records[1]?.message).toMatch(
      /^k6 run for SLO "k6-second" wrote no summary: neither "[^"]+k6-second\.summary\.json" \(handleSummary\) nor "[^"]+k6-second\.export\.json" \(--summary-export\) exists after k6 exited 0: every threshold held\./,
    );
  });

  test('runK6 resolves with the summary error instead of throwing', async () => {
    const dir = path.join(tmp, 'runk6');
    mkdirSync(dir, { recursive: true });
    const script = path.join(dir, 'k6-first.js');
    writeFileSync(script, generateK6Script([first], { profile: 'smoke', name: 'k6-first' }));
    const run = await runK6({ path: injector, source: 'K6_BIN' }, script, {
      baseUrl: url,
      reportDir: dir,
      name: 'k6-first',
    });
    expect(run.code).toBe(0);
    expect(run.summary).toBeUndefined();
    expect(run.summaryError).toMatchObject({ name: 'BudgetError', code: 'SHIPGATE_K6_SUMMARY' });
    expect(run.summaryError?.message).toContain(`k6 summary "${run.summaryFile}" is truncated`);
    expect(run.summaryError?.cause).toBeInstanceOf(SyntaxError);
  });
});
