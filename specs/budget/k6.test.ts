import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { exampleSlos, search, ticketCreate, ticketsList } from '../../perf/example.slo.ts';
import {
  findK6,
  generateK6Script,
  k6ExitMeaning,
  k6Plan,
  k6Results,
  parseK6Summary,
  parseThreshold,
  runK6,
  SUMMARY_TREND_STATS,
  testRunManifest,
} from '../../plugins/k6/index.ts';
import { startServer } from './servers.ts';

const fixtures = path.join(import.meta.dirname, '__fixtures__');
const readFixture = (name: string) => JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as unknown;
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'shipgate-k6-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('k6 scripts from the same SLOs', () => {
  test('scenarios match the profile, thresholds sit on per-SLO sub-metrics, dropped iterations must be 0', () => {
    const plan = k6Plan(exampleSlos, 'smoke');
    expect(plan.scenarios.slo_example_search).toMatchObject({
      executor: 'constant-arrival-rate',
      rate: 50,
      timeUnit: '1s',
      duration: '4200ms',
      exec: 'slo_example_search',
      tags: { slo: 'example-search' },
    });
    expect(plan.thresholds['http_req_duration{slo:example-search}']).toEqual(['p(95)<200']);
    expect(plan.thresholds['http_req_failed{slo:example-search}']).toEqual(['rate<0.001']);
    expect(plan.thresholds['http_req_duration{slo:example-ticket-create}']).toEqual(['p(95)<500']);
    expect(plan.thresholds.dropped_iterations).toEqual(['count==0']);
    expect(plan.summaryTrendStats).toEqual(expect.arrayContaining(['p(95)', 'p(99)']));
    // Every threshold's sub-metric names an SLO of the script, except dropped_iterations.
    for (const key of Object.keys(plan.thresholds).filter((k) => k !== 'dropped_iterations')) {
      expect(exampleSlos.map((s) => s.id)).toContain(/\{slo:([^,}]+)/.exec(key)?.[1]);
    }
  });

  test('the script is valid JavaScript that tags requests, cycles the factory requests and writes the summary JSON', () => {
    const file = path.join(tmp, 'ticket-create.js');
    const script = generateK6Script([ticketCreate], { profile: 'normal', name: 'example-ticket-create' });
    writeFileSync(file, script);
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(script).toContain(`summaryTrendStats: ${JSON.stringify(SUMMARY_TREND_STATS)}`);
    expect(script).toContain('tags: { slo: slo, name: name }');
    expect(script).toContain('params.responseCallback = http.expectedStatuses(...EXPECTED[slo]);');
    expect(script).toContain('const EXPECTED = {\n  "example-ticket-create": [\n    201\n  ]\n};');
    expect(script).toContain('export function handleSummary(data)');
    expect(script).toContain(
      "const SUMMARY_FILE = __ENV.SHIPGATE_K6_SUMMARY || REPORT_DIR + '/k6/' + SUMMARY_NAME + '.summary.json';",
    );
    expect(script).toContain('out[SUMMARY_FILE] = JSON.stringify(data, null, 2);');
    // The factory's requests, 1,000 of them, one per line.
    expect(script).toContain(
      '{"method":"POST","path":"/api/tickets","headers":{"content-type":"application/json"},"body":"{\\"authorId\\":1,',
    );
    expect(script.match(/"path":"\/api\/tickets"/g)).toHaveLength(1000);
    expect(script).toContain('"executor": "constant-arrival-rate"');
    expect(script).toContain('"duration": "30s"');
  });

  test('ramps and bursts map to ramping-vus and constant-vus; fractional rates stay exact', async () => {
    const { seedSlos } = await import('../../perf/seeds.slo.ts');
    const plan = k6Plan(seedSlos, 'normal');
    expect(plan.scenarios.slo_seed_audit_run).toMatchObject({
      executor: 'ramping-vus',
      startVUs: 5,
      stages: [
        { duration: '30s', target: 20 },
        { duration: '30s', target: 20 },
        { duration: '30s', target: 0 },
      ],
    });
    expect(plan.scenarios.slo_seed_outreach_start).toMatchObject({
      executor: 'constant-vus',
      vus: 10,
      duration: '30s',
    });
    expect(plan.thresholds['http_req_duration{slo:seed-outreach-start}']).toEqual(['p(95)<1500']);
    const { defineSlo } = await import('../../plugins/budget/index.ts');
    const frac = defineSlo({
      id: 'frac',
      endpoint: { method: 'GET', path: '/' },
      load: { kind: 'rate', rps: 2.5, duration: '10s' },
      budgets: { minRps: 2 },
    });
    expect(k6Plan([frac], 'normal').scenarios.slo_frac).toMatchObject({ rate: 2500, timeUnit: '1000s' });
    expect(k6Plan([frac], 'normal').thresholds['http_reqs{slo:frac,expected_response:true}']).toEqual(['rate>=2']);
  });
});

describe('k6 summaries, both shapes, into the in-process result model', () => {
  test('handleSummary data: a crossed threshold fails its SLO, the others pass', () => {
    const summary = parseK6Summary(readFixture('k6-handle-summary.json'));
    expect(summary.shape).toBe('handleSummary');
    expect(summary.testRunDurationMs).toBeCloseTo(30412.55, 1);
    const results = k6Results(summary, { slos: exampleSlos, profile: 'normal' });
    expect(results.map((r) => [r.sloId, r.status])).toEqual([
      ['example-search', 'failed'],
      ['example-tickets-list', 'passed'],
    ]);
    const s = results[0];
    expect(s?.engine).toBe('k6');
    expect(s?.measurement.latency.p95Us).toBeCloseTo(31114.702, 3);
    expect(s?.measurement.latency.p99Us).toBeCloseTo(88903.317, 3);
    expect(s?.measurement.requests).toBe(1500);
    expect(s?.measurement.errorRate).toBe(0.004);
    expect(s?.measurement.rps).toBeCloseTo(49.12, 2);
    expect(s?.verdict.checks.find((c) => c.key === 'errorRate')).toMatchObject({
      ok: false,
      conclusive: true,
      limit: 0.001,
    });
    expect(s?.verdict.checks.find((c) => c.key === 'p95Ms')).toMatchObject({ ok: true, limit: 200 });
  });

  test('--summary-export: threshold `true` means crossed, and it reads into the same results', () => {
    const exported = parseK6Summary(readFixture('k6-summary-export.json'));
    expect(exported.shape).toBe('summary-export');
    const a = k6Results(parseK6Summary(readFixture('k6-handle-summary.json')), { slos: exampleSlos });
    const b = k6Results(exported, { slos: exampleSlos });
    expect(b.map((r) => [r.sloId, r.status])).toEqual(a.map((r) => [r.sloId, r.status]));
    for (const [i, r] of b.entries()) {
      expect(r.measurement.latency).toEqual(a[i]?.measurement.latency);
      expect(r.measurement.errorRate).toBe(a[i]?.measurement.errorRate);
      expect(r.verdict.checks).toEqual(a[i]?.verdict.checks);
    }
    const rate = exported.metrics.find((m) => m.name === 'http_req_failed{slo:example-search}');
    expect(rate).toMatchObject({
      type: 'rate',
      tags: { slo: 'example-search' },
      thresholds: [{ expr: 'rate<0.001', ok: false }],
    });
    expect(rate?.values.rate).toBe(0.004);
  });

  test('without the SLO module, budgets are read back from the thresholds', () => {
    const results = k6Results(parseK6Summary(readFixture('k6-summary-export.json')));
    expect(results.find((r) => r.sloId === 'example-search')?.budgets).toEqual({ p95: 200, errorRate: 0.001 });
    expect(parseThreshold('p(99.9)<=1500')).toEqual({ stat: 'p(99.9)', op: '<=', value: 1500 });
    expect(parseThreshold('count==0')).toEqual({ stat: 'count', op: '==', value: 0 });
  });

  test('dropped iterations make an otherwise passing run inconclusive', () => {
    const [r] = k6Results(parseK6Summary(readFixture('k6-handle-summary-dropped.json')));
    expect(r?.sloId).toBe('seed-match-top');
    expect(r?.status).toBe('inconclusive');
    expect(r?.verdict.inconclusive.join(' ')).toMatch(/k6 dropped 20 iteration\(s\)/);
  });

  test('anything else is refused, naming the file', () => {
    expect(() => parseK6Summary({ data: [] }, 'out.json')).toThrow(
      'out.json has no "metrics" object; expected a k6 handleSummary, --summary-export or machine-readable (k6 1.x) JSON.',
    );
  });
});

describe('running k6', () => {
  test('k6 is found through K6_BIN or PATH, and a bad K6_BIN says what is wrong', () => {
    expect(findK6({ K6_BIN: '/nonexistent/k6', PATH: '' }).reason).toBe(
      'K6_BIN is "/nonexistent/k6", which does not exist; point it at a k6 binary or unset it',
    );
    expect(findK6({ K6_BIN: tmp, PATH: '' }).reason).toContain('which is not an executable file');
    expect(findK6({ PATH: tmp }).binary).toBeUndefined();
    expect(findK6({ PATH: tmp }).reason).toMatch(/^k6 is not installed: no `k6` on PATH and K6_BIN is not set/);
  });

  test('exit code 99 is an SLO violation; others are run errors', () => {
    expect(k6ExitMeaning(0).kind).toBe('ok');
    expect(k6ExitMeaning(99)).toEqual({
      kind: 'violation',
      text: 'k6 exited 99: thresholds crossed (an SLO violation)',
    });
    expect(k6ExitMeaning(107)).toEqual({ kind: 'error', text: 'k6 exited 107: script exception' });
    expect(k6ExitMeaning(null).text).toContain('killed by a signal');
  });

  const k6 = findK6();
  test.skipIf(!k6.binary)(`a real k6 run against a real server (skipped here: ${k6.reason})`, async () => {
    await using srv = await startServer({ delayMs: 2 });
    const file = path.join(tmp, 'list.js');
    writeFileSync(file, generateK6Script([ticketsList], { profile: 'smoke', name: 'example-tickets-list' }));
    const run = await runK6(k6.binary as NonNullable<typeof k6.binary>, file, {
      baseUrl: srv.url,
      reportDir: tmp,
      name: 'example-tickets-list',
    });
    expect(run.meaning.kind).toBe('ok');
    expect(run.summary?.shape).toBe('handleSummary');
    const [r] = k6Results(run.summary as NonNullable<typeof run.summary>, { slos: [ticketsList], profile: 'smoke' });
    expect(r?.status).toBe('passed');
    expect(srv.arrivals.length).toBe(r?.measurement.requests);
  });
});

describe('distributed runs', () => {
  test('a k6-operator TestRun with the script in a ConfigMap', () => {
    const script = generateK6Script([search], { profile: 'stress', name: 'example-search' });
    const yaml = testRunManifest({
      name: 'Example Search',
      file: 'example-search.js',
      script,
      parallelism: 4,
      baseUrl: 'http://app.staging.svc:3000',
      namespace: 'perf',
    });
    const [configMap, testRun] = parseAllDocuments(yaml).map((d) => d.toJS());
    expect(configMap).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'example-search-script', namespace: 'perf' },
    });
    expect(configMap.data['example-search.js']).toBe(`${script.trimEnd()}\n`);
    expect(testRun).toMatchObject({
      apiVersion: 'k6.io/v1alpha1',
      kind: 'TestRun',
      metadata: { name: 'example-search', namespace: 'perf' },
      spec: {
        parallelism: 4,
        script: { configMap: { name: 'example-search-script', file: 'example-search.js' } },
        arguments: '--no-usage-report',
      },
    });
    expect(testRun.spec.runner.env).toEqual(
      expect.arrayContaining([
        { name: 'BASE_URL', value: 'http://app.staging.svc:3000' },
        { name: 'K6_NO_USAGE_REPORT', value: 'true' },
      ]),
    );
    expect(() => testRunManifest({ name: 'x', file: 'x.js', script, parallelism: 0, baseUrl: 'http://x' })).toThrow(
      'parallelism is 0; expected an integer ≥ 1 (--parallelism)',
    );
  });
});
