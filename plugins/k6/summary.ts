import { readFileSync } from 'node:fs';
import type { LatencyStats, Measurement } from '../budget/analyze.ts';
import { BudgetError } from '../budget/errors.ts';
import type { BudgetResult } from '../budget/measure.ts';
import { type RunPlan, resolveRun } from '../budget/profiles.ts';
import type { ProfileName, ResolvedBudgets, Slo } from '../budget/slo.ts';
import { type BudgetKey, judge } from '../budget/verdict.ts';
import { describeError } from '../core/errors.ts';
import { vusFor } from './script.ts';

/**
 * k6 end-of-test summaries, in both shapes k6 writes, read into the same result model as the
 * in-process budgets (`BudgetResult`), one result per `slo:<id>` tag:
 * - `handleSummary(data)` data: `metrics[name] = { type, contains, values: {…}, thresholds:
 *   { expr: { ok } } }`, where `ok: false` means the threshold was crossed;
 * - the older `--summary-export` file: `metrics[name] = { …values, thresholds: { expr: bool } }`
 *   with no `type`, rate metrics' `rate` renamed `value`, and threshold `true` meaning crossed.
 * The verdict uses k6's own threshold outcomes for pass/fail and shipgate's rules for
 * inconclusive: dropped iterations, too few samples for a percentile.
 */

/** `machine-readable`: k6 1.x's `--new-machine-readable-summary` format (schema v1, grafana/k6-summary). */
export type SummaryShape = 'handleSummary' | 'summary-export' | 'machine-readable';
export type K6MetricType = 'trend' | 'rate' | 'counter' | 'gauge';

export interface K6Threshold {
  expr: string;
  /** True when the threshold held. */
  ok: boolean;
}

export interface K6Metric {
  /** Full name, e.g. `http_req_duration{slo:example-search}`. */
  name: string;
  /** Metric without tags, e.g. `http_req_duration`. */
  base: string;
  tags: Record<string, string>;
  type: K6MetricType;
  values: Record<string, number>;
  thresholds: K6Threshold[];
}

export interface K6Summary {
  shape: SummaryShape;
  metrics: K6Metric[];
  testRunDurationMs?: number;
  /** k6's overall threshold verdict (machine-readable summaries carry it instead of per-threshold results). */
  passed?: boolean;
}

/** Splits `name{k:v,k2:v2}` into the base name and its tags. */
export function splitMetricName(name: string): { base: string; tags: Record<string, string> } {
  const brace = name.indexOf('{');
  if (brace < 0 || !name.endsWith('}')) return { base: name, tags: {} };
  const tags: Record<string, string> = {};
  for (const part of name.slice(brace + 1, -1).split(',')) {
    const colon = part.indexOf(':');
    if (colon > 0) tags[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  return { base: name.slice(0, brace), tags };
}

function inferType(v: Record<string, unknown>): K6MetricType {
  if ('avg' in v || 'med' in v || Object.keys(v).some((k) => k.startsWith('p('))) return 'trend';
  if ('passes' in v && 'fails' in v) return 'rate';
  if ('count' in v && 'rate' in v) return 'counter';
  if ('value' in v && 'min' in v && 'max' in v) return 'gauge';
  if ('rate' in v) return 'rate';
  return 'gauge';
}

const numbers = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v === 'number')) as Record<string, number>;

/** How to get a usable summary; the end of every `SHIPGATE_K6_SUMMARY` error unless the caller gives its own. */
export const SUMMARY_HINT =
  "Re-run k6 to the end and pass the JSON it writes: a generated script's handleSummary writes <report dir>/k6/<id>.summary.json (SHIPGATE_K6_SUMMARY overrides the path), `k6 run --summary-export <file>` the older shape; k6 1.x's machine-readable summary (`--new-machine-readable-summary`) is read too.";

const quoted = (keys: string[]) => keys.map((k) => `"${k}"`).join(', ');
const kindOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

/** Reads a k6 summary (either shape); throws {@link BudgetError} `SHIPGATE_K6_SUMMARY` naming `source` for anything else. */
export function parseK6Summary(input: unknown, source = 'k6 summary', hint = SUMMARY_HINT): K6Summary {
  const mr = input as {
    version?: unknown;
    results?: { metrics?: unknown; passed?: unknown };
    config?: { duration?: unknown };
  };
  if (typeof mr?.version === 'string' && typeof mr.results === 'object' && mr.results !== null)
    return parseMachineReadable(mr, source, hint);
  const metrics = (input as { metrics?: unknown })?.metrics;
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    const found =
      typeof input !== 'object' || input === null || Array.isArray(input)
        ? `The JSON is ${kindOf(input)}`
        : 'metrics' in input
          ? `Its "metrics" is ${kindOf(metrics)}`
          : `Its top-level keys are ${quoted(Object.keys(input)) || 'none'}`;
    throw new BudgetError(
      'SHIPGATE_K6_SUMMARY',
      `${source} has no "metrics" object; expected a k6 handleSummary, --summary-export or machine-readable (k6 1.x) JSON. ${found}.`,
      { hint },
    );
  }
  const notObjects = Object.entries(metrics).filter(([, m]) => typeof m !== 'object' || m === null || Array.isArray(m));
  if (notObjects.length) {
    const listed = notObjects.slice(0, 3).map(([name, m]) => `metric "${name}" is ${kindOf(m)}`);
    if (notObjects.length > 3) listed.push(`${notObjects.length - 3} more`);
    throw new BudgetError(
      'SHIPGATE_K6_SUMMARY',
      `${source} is not a k6 summary: ${listed.join(', ')}; k6 writes each metric as an object.`,
      { hint },
    );
  }
  const entries = Object.entries(metrics as Record<string, Record<string, unknown>>);
  const isNew = entries.some(([, m]) => typeof m?.values === 'object' && typeof m?.type === 'string');
  const out: K6Metric[] = [];
  for (const [name, m] of entries) {
    if (typeof m !== 'object' || m === null) continue;
    const { base, tags } = splitMetricName(name);
    const rawThresholds = (m.thresholds ?? {}) as Record<string, unknown>;
    if (isNew) {
      const thresholds = Object.entries(rawThresholds).map(([expr, t]) => ({
        expr,
        ok: (t as { ok?: boolean })?.ok !== false,
      }));
      out.push({
        name,
        base,
        tags,
        type: m.type as K6MetricType,
        values: numbers((m.values ?? {}) as Record<string, unknown>),
        thresholds,
      });
    } else {
      // --summary-export: `true` means the threshold was crossed (k6 writes `!ok`).
      const thresholds = Object.entries(rawThresholds).map(([expr, crossed]) => ({ expr, ok: crossed !== true }));
      const values = numbers(m);
      const type = inferType(m);
      if (type === 'rate' && 'value' in values && !('rate' in values)) values.rate = values.value as number;
      out.push({ name, base, tags, type, values, thresholds });
    }
  }
  const duration = (input as { state?: { testRunDurationMs?: unknown } }).state?.testRunDurationMs;
  return {
    shape: isNew ? 'handleSummary' : 'summary-export',
    metrics: out,
    ...(typeof duration === 'number' ? { testRunDurationMs: duration } : {}),
  };
}

const TYPES = new Set(['trend', 'rate', 'counter', 'gauge']);

/**
 * k6 1.x's machine-readable summary: `results.metrics` is an array of `{name, type, contains,
 * category, values}`, sub-metrics named `base{tag:value}`. It has no per-threshold results, only
 * `results.passed`; budgets then come from the SLO module, and `k6Results` judges the values.
 */
function parseMachineReadable(
  mr: { version?: unknown; results?: { metrics?: unknown; passed?: unknown }; config?: { duration?: unknown } },
  source: string,
  hint: string,
): K6Summary {
  const major = Number(/^(\d+)\./.exec(String(mr.version))?.[1]);
  if (major !== 1)
    throw new BudgetError(
      'SHIPGATE_K6_SUMMARY',
      `${source} is a machine-readable summary of version "${String(mr.version)}"; shipgate reads version 1.x.`,
      { hint },
    );
  const list = mr.results?.metrics;
  if (!Array.isArray(list))
    throw new BudgetError(
      'SHIPGATE_K6_SUMMARY',
      `${source} is a machine-readable summary whose "results.metrics" is ${kindOf(list)}, not an array.`,
      { hint },
    );
  const bad: string[] = [];
  const out: K6Metric[] = [];
  for (const [i, m] of list.entries()) {
    const e = m as { name?: unknown; type?: unknown; values?: unknown };
    if (
      typeof e?.name !== 'string' ||
      !TYPES.has(String(e.type)) ||
      typeof e.values !== 'object' ||
      e.values === null
    ) {
      bad.push(
        `results.metrics[${i}] is ${kindOf(m) === 'an object' ? 'an object without a name, a known type and values' : kindOf(m)}`,
      );
      continue;
    }
    const { base, tags } = splitMetricName(e.name);
    out.push({
      name: e.name,
      base,
      tags,
      type: e.type as K6MetricType,
      values: numbers(e.values as Record<string, unknown>),
      thresholds: [],
    });
  }
  if (bad.length)
    throw new BudgetError('SHIPGATE_K6_SUMMARY', `${source} is not a k6 summary: ${bad.slice(0, 3).join(', ')}.`, {
      hint,
    });
  const duration = mr.config?.duration;
  return {
    shape: 'machine-readable',
    metrics: out,
    ...(typeof duration === 'number' ? { testRunDurationMs: duration * 1000 } : {}),
    ...(typeof mr.results?.passed === 'boolean' ? { passed: mr.results.passed } : {}),
  };
}

/** Line and column (1-based) just past the end of `text`. */
function endOf(text: string): { line: number; column: number } {
  const lines = text.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * Reads and parses the k6 summary at `file`. Anything but a summary (missing, unreadable, empty,
 * truncated, not JSON, JSON of another shape) throws {@link BudgetError} `SHIPGATE_K6_SUMMARY`,
 * naming the file, what is wrong with it, and `hint` (default {@link SUMMARY_HINT}).
 */
export function readK6Summary(file: string, hint = SUMMARY_HINT): K6Summary {
  const subject = `k6 summary "${file}"`;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${describeError(err)})`;
    throw new BudgetError('SHIPGATE_K6_SUMMARY', `${subject} ${what}.`, { cause: err, hint });
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') {
    const what = bytes.length === 0 ? 'is empty (0 bytes)' : `holds only whitespace (${bytes.length} bytes)`;
    throw new BudgetError('SHIPGATE_K6_SUMMARY', `${subject} ${what}; k6 wrote no summary into it.`, { hint });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message.replace(/\s+/g, ' ');
    // V8 says "Unexpected end of JSON input", or names a position at the end of the text.
    const at = /at position (\d+)/.exec(reason);
    const truncated = reason.includes('end of JSON input') || (!!at && Number(at[1]) >= text.trimEnd().length);
    const end = endOf(text.trimEnd());
    const what = truncated
      ? `is truncated: the JSON stops after ${bytes.length.toLocaleString('en-US')} bytes, inside a value (line ${end.line}, column ${end.column}): it was cut off while being written or copied`
      : `is not JSON (${bytes.length.toLocaleString('en-US')} bytes): ${reason}`;
    throw new BudgetError('SHIPGATE_K6_SUMMARY', `${subject} ${what}.`, { cause: err, hint });
  }
  return parseK6Summary(data, subject, hint);
}

const THRESHOLD =
  /^\s*(p\(\d+(?:\.\d+)?\)|avg|min|med|max|rate|count|value)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

/** Parses a threshold expression such as `p(95)<200`. */
export function parseThreshold(expr: string): { stat: string; op: string; value: number } | undefined {
  const m = THRESHOLD.exec(expr);
  return m ? { stat: m[1] as string, op: m[2] as string, value: Number(m[3]) } : undefined;
}

/** SLO ids present in a summary (from `slo:` tags). */
export function sloIdsIn(s: K6Summary): string[] {
  return [...new Set(s.metrics.map((m) => m.tags.slo).filter((id): id is string => !!id))];
}

function find(s: K6Summary, base: string, tags: Record<string, string>): K6Metric | undefined {
  const keys = Object.keys(tags);
  return s.metrics.find(
    (m) => m.base === base && Object.keys(m.tags).length === keys.length && keys.every((k) => m.tags[k] === tags[k]),
  );
}

const ms = (v: number | undefined) => (v === undefined ? Number.NaN : v * 1000);

export interface K6ResultOptions {
  /** SLOs to take names, loads and budgets from (else budgets are read back from the thresholds). */
  slos?: readonly Slo[];
  profile?: ProfileName;
  /** Where the summary came from, for the evidence. */
  source?: string;
}

/** One result per SLO in the summary. */
export function k6Results(s: K6Summary, opts: K6ResultOptions = {}): BudgetResult[] {
  // The SLOs the summary has metrics for; given SLOs it lacks entirely are reported as such.
  const present = sloIdsIn(s);
  const ids = present.length ? present : (opts.slos ?? []).map((x) => x.id);
  const profile = opts.profile ?? 'normal';
  const droppedAll = s.metrics.find((m) => m.base === 'dropped_iterations' && Object.keys(m.tags).length === 0);
  return ids.map((id) => {
    const slo = opts.slos?.find((x) => x.id === id);
    const plan = slo ? resolveRun(slo, profile) : undefined;
    const dur = find(s, 'http_req_duration', { slo: id });
    const failed = find(s, 'http_req_failed', { slo: id });
    const reqsOk = find(s, 'http_reqs', { slo: id, expected_response: 'true' });
    const reqs = find(s, 'http_reqs', { slo: id });
    const dropped =
      find(s, 'dropped_iterations', { scenario: `slo_${id.replace(/[^A-Za-z0-9_]/g, '_')}` }) ?? droppedAll;

    // Budgets: from the SLO, else read back from the thresholds.
    const budgets: ResolvedBudgets = plan ? { ...plan.budgets } : {};
    const okFlags: Partial<Record<BudgetKey, boolean>> = {};
    for (const t of dur?.thresholds ?? []) {
      const th = parseThreshold(t.expr);
      const p =
        th?.stat === 'med'
          ? 50
          : th?.stat === 'p(95)'
            ? 95
            : th?.stat === 'p(99)'
              ? 99
              : th?.stat === 'p(50)'
                ? 50
                : undefined;
      if (!th || !p) continue;
      if (!plan) budgets[`p${p}`] = th.value;
      okFlags[`p${p}Ms`] = t.ok;
    }
    // `rate>=0` and `count>=0` are the always-true thresholds that make k6 report the counts, not budgets.
    const budgetOp = (op: string | undefined, ...ops: string[]) => !!op && ops.includes(op);
    for (const t of failed?.thresholds ?? []) {
      const th = parseThreshold(t.expr);
      if (th?.stat !== 'rate' || !budgetOp(th.op, '<', '<=', '==', '===')) continue;
      if (!plan) budgets.errorRate = th.value;
      okFlags.errorRate = t.ok;
    }
    for (const t of reqsOk?.thresholds ?? reqs?.thresholds ?? []) {
      const th = parseThreshold(t.expr);
      if (th?.stat !== 'rate' || !budgetOp(th.op, '>', '>=')) continue;
      if (!plan) budgets.minRps = th.value;
      okFlags.rps = t.ok;
    }

    // The request count: from the error-rate sub-metric, else the request counter, else the
    // duration trend's count (scripts generated before the always-true thresholds carry only that).
    const requests = failed
      ? (failed.values.passes ?? 0) + (failed.values.fails ?? 0)
      : (reqs?.values.count ?? dur?.values.count ?? 0);
    const errorRate = failed?.values.rate ?? 0;
    const errors = Math.round(errorRate * requests);
    const n = dur?.values.count ?? requests;
    const latency: LatencyStats = {
      n,
      minUs: ms(dur?.values.min),
      p50Us: ms(dur?.values.med ?? dur?.values['p(50)']),
      p90Us: ms(dur?.values['p(90)']),
      p95Us: ms(dur?.values['p(95)']),
      p99Us: ms(dur?.values['p(99)']),
      p999Us: ms(dur?.values['p(99.9)']),
      maxUs: ms(dur?.values.max),
      meanUs: ms(dur?.values.avg),
    };
    const durationS = (s.testRunDurationMs ?? 0) / 1000;
    const rps =
      reqsOk?.values.rate ??
      (reqs ? (reqs.values.rate ?? 0) * (1 - errorRate) : durationS > 0 ? (requests - errors) / durationS : 0);
    const droppedCount = dropped?.values.count ?? 0;
    const measurement: Measurement = {
      rounds: [],
      n,
      requests,
      errors,
      errorRate,
      errorsByKind: {},
      statuses: {},
      rps,
      latency,
      // k6 times each request from its actual send; there is no separate schedule to correct for.
      latencyFromDispatch: latency,
      dropped: droppedCount,
      abandoned: 0,
      plannedUs: (s.testRunDurationMs ?? 0) * 1000,
      generator: {
        engine:
          plan?.load.kind === 'burst'
            ? 'burst'
            : plan?.load.kind === 'stages' && plan.load.unit === 'vus'
              ? 'vus'
              : 'open',
        elu: 0,
        cpu: 0,
        lagP99Us: 0,
      },
      slowest: [],
      histogram: '',
    };
    // Dropped iterations get k6's own advice below, not the in-process engine's (connections).
    const verdict = judge({ budgets }, { ...measurement, dropped: 0 }, okFlags);
    if (droppedCount > 0) verdict.inconclusive.push(droppedAdvice(s, droppedCount, plan));
    if (!dur && !failed) verdict.inconclusive.push(`no metrics tagged slo:${id} in the summary`);
    if (s.shape === 'machine-readable' && !plan)
      verdict.inconclusive.push(
        'the machine-readable summary (k6 --new-machine-readable-summary) has no per-threshold results: pass the SLO module (--slos) so its budgets are known',
      );
    if (verdict.status === 'passed' && verdict.inconclusive.length) verdict.status = 'inconclusive';
    return {
      sloId: id,
      name: slo?.name ?? (dur?.tags.name || id),
      method: slo?.endpoint.method ?? '',
      path: slo?.endpoint.path ?? '',
      profile,
      ...(plan ? { load: plan.load } : {}),
      budgets,
      status: verdict.status,
      verdict,
      measurement,
      baselineWritten: [],
      engine: 'k6',
      startedAt: new Date().toISOString(),
      durationMs: s.testRunDurationMs ?? 0,
    } satisfies BudgetResult;
  });
}

/**
 * Why k6 dropped iterations, from the VUs it reached: below the script's maxVUs it was still
 * allocating VUs (preAllocatedVUs too low for the latency); at maxVUs every VU was busy.
 */
function droppedAdvice(s: K6Summary, dropped: number, plan: RunPlan | undefined): string {
  const vusMax = s.metrics.find((m) => m.base === 'vus_max' && Object.keys(m.tags).length === 0)?.values;
  const reached = vusMax?.max ?? vusMax?.value;
  const load = plan?.load;
  const peak =
    load?.kind === 'rate'
      ? load.rps
      : load?.kind === 'stages' && load.unit === 'rps'
        ? Math.max(load.start, ...load.stages.map((x) => x.target))
        : undefined;
  const vus =
    plan && peak !== undefined
      ? vusFor(peak, plan, load?.kind === 'burst' ? undefined : load?.maxConnections)
      : undefined;
  const of = `k6 dropped ${dropped} iteration(s)`;
  if (vus && reached !== undefined && reached >= vus.maxVUs)
    return `${of}: all ${vus.maxVUs} VUs were busy (maxVUs reached): the server is slower than the SLO's latency budget at this rate, or raise load.maxConnections`;
  if (reached !== undefined)
    return `${of} while allocating VUs (${reached}${vus ? ` of maxVUs ${vus.maxVUs}, preAllocatedVUs ${vus.preAllocatedVUs}` : ''} in use): regenerate the script with \`shipgate k6 generate\` (VUs are sized by rate × latency budget)`;
  return `${of} (dropped_iterations count==0 crossed)`;
}
