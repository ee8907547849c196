import type { ShipgateRecord } from '../report/model.ts';
import { recordId } from '../report/records.ts';
import type { LatencyStats, Measurement } from './analyze.ts';
import { formatMs } from './duration.ts';
import type { BudgetResult } from './measure.ts';
import type { MetricComparison, RegressionReport } from './regression.ts';
import type { ResolvedLoad } from './slo.ts';
import type { BudgetCheck } from './verdict.ts';

/** Pure formatting of budget results: messages for people, records for the unified reporter. */

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (f: number) => `${(f * 100).toFixed(f !== 0 && f < 0.001 ? 3 : f < 0.1 ? 2 : 1)} %`;
const secs = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/** `20 rps for 30 s`, `10 VUs for 30 s`, `VUs 5→20→0 over 90 s`. */
export function describeLoad(load: ResolvedLoad): string {
  if (load.kind === 'rate') return `${+load.rps.toFixed(2)} rps for ${secs(load.durationMs)}`;
  if (load.kind === 'burst') return `${load.vus} VUs for ${secs(load.durationMs)}`;
  const total = load.stages.reduce((s, x) => s + x.durationMs, 0);
  const unit = load.unit === 'vus' ? 'VUs' : 'rps';
  return `${unit} ${[load.start, ...load.stages.map((s) => s.target)].join('→')} over ${secs(total)}`;
}

function checkValue(c: BudgetCheck): string {
  if (c.key === 'errorRate') return pct(c.value);
  if (c.key === 'rps') return `${c.value.toFixed(1)} requests/s`;
  return formatMs(c.value);
}

function checkLimit(c: BudgetCheck): string {
  if (c.key === 'errorRate') return pct(c.limit);
  if (c.key === 'rps') return `${c.limit} requests/s`;
  return formatMs(c.limit);
}

function errorBreakdown(m: Measurement): string {
  const parts = Object.entries(m.errorsByKind).map(([k, n]) => `${n}× ${k}`);
  for (const [status, n] of Object.entries(m.statuses)) {
    if (status !== 'none' && !(Number(status) >= 200 && Number(status) < 400)) parts.push(`${n}× ${status}`);
  }
  return parts.join(', ');
}

/** One line per failed check: `p95 412 ms exceeds 300 ms (n=2,400)`. */
export function violationLines(r: BudgetResult): string[] {
  return r.verdict.checks
    .filter((c) => !c.ok && c.conclusive)
    .map((c) => {
      const verb = c.key === 'rps' ? 'is below' : 'exceeds';
      const extra =
        c.key === 'errorRate' ? `: ${int(r.measurement.errors)} errors (${errorBreakdown(r.measurement)})` : '';
      return `${c.label} ${checkValue(c)} ${verb} ${checkLimit(c)} (n=${int(c.n)}${extra})`;
    });
}

function slowestLines(m: Measurement): string[] {
  return m.slowest.map((s) => {
    const server = s.serverMs === undefined ? 'no server timing' : `server ${formatMs(s.serverMs)}`;
    const status = s.error ?? String(s.status);
    return `${formatMs(s.latencyMs).padStart(9)} (${server}) ${status}  trace ${s.traceId}  at ${formatMs(s.atMs)} of round ${s.round + 1}`;
  });
}

function comparisonLine(c: MetricComparison): string {
  const unit = c.key === 'errorRate' ? ' points' : ' %';
  const sign = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}${unit}`;
  const bound = c.key === 'rps' ? `upper bound ${sign(c.high)}` : `lower bound ${sign(c.low)}`;
  return `${c.key} ${sign(c.delta)} (95 % ${bound}, threshold ${sign(c.threshold)})${c.regression ? ' REGRESSION' : c.suspected ? ' suspected, not proven' : ''}`;
}

/** Describes the regression judgement in one line plus one line per compared metric. */
export function regressionLines(reg: RegressionReport): string[] {
  const head = `${reg.method === 'interleaved' ? 'interleaved with the base build' : 'against the stored baseline'} (${reg.baseRounds} base + ${reg.headRounds} head rounds)`;
  return [
    `${reg.regression ? 'Regression' : 'No regression'} ${head}:`,
    ...reg.comparisons.map((c) => `  ${comparisonLine(c)}`),
    ...reg.notes.map((n) => `  note: ${n}`),
  ];
}

/** `a / b / c / d / e`: p50, p90, p95, p99 and p99.9; a percentile the source lacks (a k6 summary without p(99.9)) is `–`. */
export function percentileRow(l: LatencyStats): string {
  return [l.p50Us, l.p90Us, l.p95Us, l.p99Us, l.p999Us]
    .map((us) => (Number.isFinite(us) ? formatMs(us / 1000) : '–'))
    .join(' / ');
}

/** The full explanation of a result: what failed, the evidence, the generator's health. */
export function explain(r: BudgetResult): string {
  const m = r.measurement;
  const title = `Budget "${r.name}" (${r.engine === 'k6' ? 'k6, ' : ''}${r.profile}${r.load ? `: ${describeLoad(r.load)}` : ''})`;
  const lines: string[] = [];
  const violations = violationLines(r);
  if (r.status === 'failed') lines.push(`${title} failed:`, ...violations.map((v) => `  - ${v}`));
  else if (r.status === 'inconclusive') lines.push(`${title} is inconclusive, not a pass:`);
  else lines.push(`${title} met its budgets:`);
  if (r.verdict.inconclusive.length) {
    if (r.status === 'failed') lines.push('  Also inconclusive:');
    lines.push(...r.verdict.inconclusive.map((v) => `  - ${v}`));
  }
  if (r.status === 'passed') {
    lines.push(
      ...r.verdict.checks.map((c) => `  - ${c.label} ${checkValue(c)} within ${checkLimit(c)} (n=${int(c.n)})`),
    );
  }
  if (m.slowest.length)
    lines.push(
      'Slowest requests (client time, server time from Server-Timing):',
      ...slowestLines(m).map((s) => `  ${s}`),
    );
  lines.push(
    `Latency p50/p90/p95/p99/p99.9 ${percentileRow(m.latency)} (n=${int(m.latency.n)}, max ${formatMs(m.latency.maxUs / 1000)}).`,
  );
  if (m.server) lines.push(`Server-side (Server-Timing) p50/p90/p95/p99/p99.9 ${percentileRow(m.server)}.`);
  const g = m.generator;
  if (r.engine === 'k6') {
    lines.push(`Generator: k6 (aggregates only: no per-request record, percentiles as k6 computes them).`);
    if (r.regression) lines.push(...regressionLines(r.regression));
    return lines.join('\n');
  }
  const rate =
    g.achievedRps !== undefined
      ? `, ${g.achievedRps.toFixed(1)} of ${g.targetRps?.toFixed(1)} requests/s delivered`
      : '';
  const lag = g.engine === 'open' ? `, dispatch lag p99 ${formatMs(g.lagP99Us / 1000)}` : '';
  lines.push(
    `Generator: ${g.engine === 'open' ? 'open loop' : g.engine === 'burst' ? 'fixed concurrency' : 'ramping VUs'}${rate}${lag}, event loop ${(g.elu * 100).toFixed(0)} % busy.`,
  );
  lines.push(
    "Method: latency from each request's scheduled send time, in µs; nearest-rank percentiles over every request.",
  );
  if (r.regression) lines.push(...regressionLines(r.regression));
  return lines.join('\n');
}

/** The one-line headline of a result (record `message`). */
export function headline(r: BudgetResult): string {
  const m = r.measurement;
  const slow = m.slowest
    .slice(0, 3)
    .map((s) => s.traceId)
    .join(', ');
  if (r.status === 'failed') {
    return `Budget "${r.name}" ${violationLines(r).join('; ')}${slow ? `; slowest trace ids: ${slow}` : ''}`;
  }
  if (r.status === 'inconclusive') return `Budget "${r.name}" inconclusive: ${r.verdict.inconclusive.join('; ')}`;
  if (r.regression?.regression) {
    const worst = r.regression.comparisons.filter((c) => c.regression).map(comparisonLine);
    return `Budget "${r.name}" regressed: ${worst.join('; ')}`;
  }
  const checks = r.verdict.checks.map((c) => `${c.label} ${checkValue(c)} < ${checkLimit(c)}`).join(', ');
  return `Budget "${r.name}" met: ${checks} (n=${int(m.n)})`;
}

/** Context of the test (or CLI run) a result belongs to. */
export interface RecordContext {
  file?: string;
  suite?: string[];
  name?: string;
  runner?: string;
  kind?: 'budget' | 'load';
}

/** Converts a result into a unified-report record (kind `budget`, metrics in ms and requests/s). */
export function toRecord(r: BudgetResult, ctx: RecordContext = {}): ShipgateRecord {
  const m = r.measurement;
  const kind = ctx.kind ?? 'budget';
  const name = ctx.name ?? r.name;
  const suite = ctx.suite ?? [];
  const comparisons = new Map((r.regression?.comparisons ?? []).map((c) => [c.key, c]));
  const budgets: NonNullable<ShipgateRecord['budgets']> = {};
  for (const c of r.verdict.checks) {
    const cmp = comparisons.get(c.key);
    budgets[c.key] = {
      value: c.value,
      limit: c.limit,
      ok: c.ok,
      ...(cmp ? { baseline: cmp.base, deltaPct: cmp.key === 'errorRate' ? undefined : cmp.delta } : {}),
    };
  }
  // Percentiles first: the terminal summary shows a record's first few numbers.
  const metrics: Record<string, number> = {
    p50Ms: m.latency.p50Us / 1000,
    p90Ms: m.latency.p90Us / 1000,
    p95Ms: m.latency.p95Us / 1000,
    p99Ms: m.latency.p99Us / 1000,
    p999Ms: m.latency.p999Us / 1000,
    n: m.n,
    requests: m.requests,
    errors: m.errors,
    errorRate: m.errorRate,
    rps: m.rps,
    maxMs: m.latency.maxUs / 1000,
    meanMs: m.latency.meanUs / 1000,
    dropped: m.dropped,
    rounds: m.rounds.length,
    generatorElu: m.generator.elu,
    generatorLagP99Ms: m.generator.lagP99Us / 1000,
  };
  if (m.generator.achievedRps !== undefined) metrics.achievedRps = m.generator.achievedRps;
  if (m.generator.targetRps !== undefined) metrics.targetRps = m.generator.targetRps;
  if (m.server) {
    metrics.serverP50Ms = m.server.p50Us / 1000;
    metrics.serverP90Ms = m.server.p90Us / 1000;
    metrics.serverP95Ms = m.server.p95Us / 1000;
    metrics.serverP99Ms = m.server.p99Us / 1000;
    metrics.serverP999Ms = m.server.p999Us / 1000;
  }
  for (const [k, v] of Object.entries(metrics)) if (!Number.isFinite(v)) delete metrics[k];
  return {
    id: recordId(kind, ctx.file, suite, name),
    kind,
    runner: ctx.runner ?? 'budget',
    name,
    suite,
    status: r.status,
    durationMs: r.durationMs,
    ...(ctx.file ? { file: ctx.file } : {}),
    ...(r.status !== 'passed' || r.regression?.regression ? { message: `${headline(r)}\n${explain(r)}` } : {}),
    regression: r.regression?.regression ?? false,
    metrics,
    budgets,
    evidence: {
      sloId: r.sloId,
      endpoint: `${r.method} ${r.path}`,
      profile: r.profile,
      ...(r.load ? { load: describeLoad(r.load) } : {}),
      engine: r.engine,
      method: "latency from each request's scheduled send time (µs); nearest-rank percentiles over every request",
      slowest: m.slowest,
      statuses: m.statuses,
      errorsByKind: m.errorsByKind,
      inconclusive: r.verdict.inconclusive,
      generator: m.generator,
      ...(r.regression ? { regression: r.regression } : {}),
      ...(r.baseline ? { baseline: r.baseline } : {}),
    },
  };
}
