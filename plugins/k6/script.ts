import { k6Duration } from '../budget/duration.ts';
import { type RunPlan, resolveRun } from '../budget/profiles.ts';
import { buildRequests } from '../budget/requests.ts';
import type { ProfileName, ResolvedBudgets, ResolvedLoad, Slo } from '../budget/slo.ts';

/**
 * k6 scripts from the same SLOs. Each SLO becomes one scenario whose executor matches its
 * load (constant-arrival-rate, constant-vus, ramping-vus, ramping-arrival-rate), whose
 * requests carry the tags `slo:<id>` and `name:<METHOD path>`, and whose budgets become
 * thresholds on the `{slo:<id>}` sub-metrics. `dropped_iterations` must stay at 0, the trend
 * stats include p(95) and p(99), and `handleSummary` writes the summary JSON into the report
 * directory. Requests come from the SLO's request factory, built when the script is generated.
 */

/** Requests embedded per SLO (k6 cycles through them). */
export const K6_REQUEST_POOL = 1_000;

/** Trend stats k6 is asked to report. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count'] as const;

export interface K6Scenario {
  executor: 'constant-arrival-rate' | 'constant-vus' | 'ramping-vus' | 'ramping-arrival-rate';
  exec: string;
  tags: Record<string, string>;
  [key: string]: unknown;
}

/** The parts of a generated script, for callers and tests that want them as data. */
export interface K6Plan {
  scenarios: Record<string, K6Scenario>;
  thresholds: Record<string, string[]>;
  summaryTrendStats: readonly string[];
}

/** A JS identifier for an SLO id (`example-tickets-list` → `slo_example_tickets_list`). */
export function execName(sloId: string): string {
  return `slo_${sloId.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Requests per time unit for k6: integer rates as `N per 1s`, others exact to 0.001/s. */
function rateOf(rps: number): { rate: number; timeUnit: string } {
  return Number.isInteger(rps) ? { rate: rps, timeUnit: '1s' } : { rate: Math.round(rps * 1000), timeUnit: '1000s' };
}

/**
 * VUs for an arrival-rate scenario, by Little's law: requests in flight = rate × latency. The
 * latency is the SLO's tightest tail budget (p99, else p95, else p50, else the request timeout),
 * doubled for headroom, plus 2. k6 drops iterations while it allocates VUs past
 * `preAllocatedVUs`, so a budget that holds must never need more than that. `maxVUs` is
 * `load.maxConnections` when set (then it caps both), else rate × timeout, at most 1024.
 */
export function vusFor(
  peakRps: number,
  plan: Pick<RunPlan, 'timeoutMs' | 'budgets'>,
  maxConnections: number | undefined,
): { preAllocatedVUs: number; maxVUs: number } {
  const budgetMs = plan.budgets.p99 ?? plan.budgets.p95 ?? plan.budgets.p50 ?? plan.timeoutMs;
  const inFlight = Math.ceil(peakRps * (budgetMs / 1000) * 2) + 2;
  const byTimeout = Math.min(1024, Math.max(16, Math.ceil(peakRps * (plan.timeoutMs / 1000))));
  const maxVUs = maxConnections ?? Math.max(byTimeout, Math.min(inFlight, 1024));
  return { preAllocatedVUs: Math.min(maxVUs, inFlight), maxVUs };
}

/** The k6 scenario for a resolved load. */
export function scenarioFor(plan: RunPlan, load: ResolvedLoad = plan.load): K6Scenario {
  const id = plan.slo.id;
  const common = { exec: execName(id), tags: { slo: id }, gracefulStop: k6Duration(plan.timeoutMs) };
  switch (load.kind) {
    case 'rate':
      return {
        executor: 'constant-arrival-rate',
        ...rateOf(load.rps),
        duration: k6Duration(load.durationMs),
        ...vusFor(load.rps, plan, load.maxConnections),
        ...common,
      };
    case 'burst':
      return { executor: 'constant-vus', vus: load.vus, duration: k6Duration(load.durationMs), ...common };
    case 'stages': {
      const stages = load.stages.map((s) => ({ duration: k6Duration(s.durationMs), target: s.target }));
      if (load.unit === 'vus') {
        return {
          executor: 'ramping-vus',
          startVUs: load.start,
          stages,
          gracefulRampDown: k6Duration(plan.timeoutMs),
          ...common,
        };
      }
      const peak = Math.max(load.start, ...load.stages.map((s) => s.target));
      const integer = [load.start, ...load.stages.map((s) => s.target)].every(Number.isInteger);
      const scale = integer ? 1 : 1000;
      return {
        executor: 'ramping-arrival-rate',
        startRate: Math.round(load.start * scale),
        timeUnit: integer ? '1s' : '1000s',
        stages: stages.map((s) => ({ ...s, target: Math.round(s.target * scale) })),
        ...vusFor(peak, plan, load.maxConnections),
        ...common,
      };
    }
  }
}

/** Thresholds for one SLO's budgets, on its `{slo:<id>}` sub-metrics. */
export function thresholdsFor(sloId: string, budgets: ResolvedBudgets): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const latency = ([50, 95, 99] as const)
    .filter((p) => budgets[`p${p}`] !== undefined)
    .map((p) => `${p === 50 ? 'med' : `p(${p})`}<${budgets[`p${p}`]}`);
  if (latency.length) out[`http_req_duration{slo:${sloId}}`] = latency;
  if (budgets.errorRate !== undefined) {
    out[`http_req_failed{slo:${sloId}}`] = [budgets.errorRate === 0 ? 'rate==0' : `rate<${budgets.errorRate}`];
  }
  if (budgets.minRps !== undefined) out[`http_reqs{slo:${sloId},expected_response:true}`] = [`rate>=${budgets.minRps}`];
  // k6 reports a sub-metric only when it has a threshold: these always hold, and make the
  // summary carry the SLO's request count and error count whatever its budgets are.
  out[`http_reqs{slo:${sloId}}`] = ['count>=0'];
  out[`http_req_failed{slo:${sloId}}`] ??= ['rate>=0'];
  return out;
}

/** Scenarios and thresholds of a script for `slos` at `profile`. */
export function k6Plan(slos: readonly Slo[], profile: ProfileName): K6Plan {
  const scenarios: Record<string, K6Scenario> = {};
  const thresholds: Record<string, string[]> = {};
  for (const slo of slos) {
    const plan = resolveRun(slo, profile);
    scenarios[execName(slo.id)] = scenarioFor(plan);
    Object.assign(thresholds, thresholdsFor(slo.id, plan.budgets));
  }
  thresholds.dropped_iterations = ['count==0'];
  return { scenarios, thresholds, summaryTrendStats: SUMMARY_TREND_STATS };
}

export interface ScriptOptions {
  profile: ProfileName;
  /** Name of the summary file (`<name>.summary.json` in `<report dir>/k6/`). */
  name: string;
}

const json = (v: unknown) => JSON.stringify(v, null, 2);
/** `{ "id": [ one request per line ] }`: a 1,000-request pool stays 1,000 lines. */
const requestsJson = (pools: Record<string, unknown[]>) =>
  `{\n${Object.entries(pools)
    .map(([id, list]) => `  ${JSON.stringify(id)}: [\n${list.map((r) => `    ${JSON.stringify(r)}`).join(',\n')}\n  ]`)
    .join(',\n')}\n}`;

/** Generates a complete k6 script (ES module) for `slos`. */
export function generateK6Script(slos: readonly Slo[], options: ScriptOptions): string {
  const plan = k6Plan(slos, options.profile);
  const requests: Record<string, unknown[]> = {};
  const expected: Record<string, unknown> = {};
  for (const slo of slos) {
    const count = slo.endpoint.request ? K6_REQUEST_POOL : 1;
    requests[slo.id] = buildRequests(slo.endpoint, 0, count).map((r) => ({ ...r, body: r.body ?? null }));
    expected[slo.id] = slo.endpoint.expectStatus === undefined ? null : [slo.endpoint.expectStatus].flat();
  }
  const execs = slos
    .map(
      (slo) => `
export function ${execName(slo.id)}() {
  request(${JSON.stringify(slo.id)}, ${JSON.stringify(slo.name)});
}`,
    )
    .join('\n');
  return `// Generated by shipgate from ${slos.map((s) => `"${s.id}"`).join(', ')} (profile ${options.profile}).
// Do not edit: change the SLOs and run \`shipgate k6 generate\`.
// Run: k6 run --no-usage-report -e BASE_URL=http://127.0.0.1:3000 <this file>
import http from 'k6/http';
import exec from 'k6/execution';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\\/$/, '');
const REPORT_DIR = __ENV.SHIPGATE_REPORT_DIR || '.shipgate/report';
const SUMMARY_NAME = ${JSON.stringify(options.name)};
// k6 does not create directories: \`shipgate k6 run\` creates <report dir>/k6 first.
const SUMMARY_FILE = __ENV.SHIPGATE_K6_SUMMARY || REPORT_DIR + '/k6/' + SUMMARY_NAME + '.summary.json';

const REQUESTS = ${requestsJson(requests)};

// Statuses that count as success per SLO (null: k6's default, 200–399).
const EXPECTED = ${json(expected)};

export const options = {
  scenarios: ${json(plan.scenarios).replaceAll('\n', '\n  ')},
  thresholds: ${json(plan.thresholds).replaceAll('\n', '\n  ')},
  summaryTrendStats: ${JSON.stringify(plan.summaryTrendStats)},
  summaryTimeUnit: 'ms',
};

const HEX = '0123456789abcdef';
function hex(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[Math.floor(Math.random() * 16)];
  return s;
}

function request(slo, name) {
  const pool = REQUESTS[slo];
  const r = pool[exec.scenario.iterationInTest % pool.length];
  const params = {
    headers: Object.assign({}, r.headers, { traceparent: '00-' + hex(32) + '-' + hex(16) + '-01' }),
    tags: { slo: slo, name: name },
  };
  if (EXPECTED[slo]) params.responseCallback = http.expectedStatuses(...EXPECTED[slo]);
  http.request(r.method, BASE_URL + r.path, r.body, params);
}
${execs}

function line(name, metric) {
  const out = [];
  for (const [expr, t] of Object.entries(metric.thresholds || {})) {
    out.push('  ' + (t.ok ? 'ok    ' : 'FAILED') + ' ' + name + ' ' + expr);
  }
  return out;
}

export function handleSummary(data) {
  const lines = ['shipgate k6 thresholds (' + SUMMARY_NAME + '):'];
  for (const [name, metric] of Object.entries(data.metrics)) lines.push(...line(name, metric));
  const out = { stdout: lines.join('\\n') + '\\n' };
  out[SUMMARY_FILE] = JSON.stringify(data, null, 2);
  return out;
}
`;
}
