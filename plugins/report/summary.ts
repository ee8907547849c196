import type { MergedReport } from './merge.ts';
import { type ExitPolicy, exitCodeFor, isFailing, type ShipgateRecord } from './model.ts';

/** Pure helpers the sinks share: counts, ordering, formatting. */

/** Counts for the summary line and headers. `failed` counts every record that fails the run under the policy. */
export interface Counts {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
  inconclusive: number;
  regressions: number;
  errors: number;
  exitCode: number;
}

export function countRecords(report: MergedReport, policy: ExitPolicy): Counts {
  const c: Counts = {
    total: report.records.length,
    passed: 0,
    failed: 0,
    skipped: 0,
    flaky: 0,
    inconclusive: 0,
    regressions: 0,
    errors: report.errors.length,
    exitCode: exitCodeFor(report.records, report.errors, policy),
  };
  for (const r of report.records) {
    if (r.status === 'flaky') c.flaky += 1;
    if (r.status === 'inconclusive') c.inconclusive += 1;
    if (r.regression) c.regressions += 1;
    if (isFailing(r, policy)) c.failed += 1;
    else if (r.status === 'skipped') c.skipped += 1;
    else c.passed += 1;
  }
  c.failed += c.errors > 0 && policy.error !== 0 ? c.errors : 0;
  return c;
}

/** The last console line, which CI parses: `shipgate: N passed, N failed, N skipped`. */
export function summaryLine(c: Counts): string {
  return `shipgate: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
}

const SEVERITY: Record<string, number> = { failed: 0, inconclusive: 1, flaky: 3, passed: 4, skipped: 5 };

/** Worst first: failures, regressions, inconclusive, flaky, passed, skipped; then by kind and name. */
export function worstFirst(records: readonly ShipgateRecord[]): ShipgateRecord[] {
  const rank = (r: ShipgateRecord) => (r.regression && r.status !== 'failed' ? 0.5 : (SEVERITY[r.status] ?? 9));
  return [...records].sort((a, b) => rank(a) - rank(b) || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
}

/** `suite › name`. */
export function fullName(r: ShipgateRecord): string {
  return [...r.suite, r.name].join(' › ');
}

/** A short status label including regression. */
export function statusLabel(r: ShipgateRecord): string {
  if (r.regression && r.status !== 'failed') return `${r.status} (regression)`;
  return r.status;
}

/** Formats a number of ms: `412 ms`, `1.52 s`, `0.054 ms`. */
export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 10) return `${Math.round(v)} ms`;
  return `${Number(v.toPrecision(3))} ms`;
}

/** Formats a metric by its unit suffix (`…Ms`, `…Pct`, `rps`, `…Rate`, counts). */
export function metric(name: string, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (/Ms$/.test(name)) return ms(v);
  if (/Pct$/.test(name)) return `${v.toFixed(1)}%`;
  if (/[Rr]ate$/.test(name)) return `${(v * 100).toFixed(2)}%`;
  if (/rps$/i.test(name)) return `${v.toFixed(1)}/s`;
  if (/Bytes$/.test(name)) return `${(v / 1024).toFixed(1)} KiB`;
  return Number.isInteger(v) ? v.toLocaleString('en-US') : Number(v.toPrecision(4)).toString();
}

/** Signed percentage delta: `+12.3%`. */
export function delta(pct: number | undefined): string {
  if (pct === undefined || !Number.isFinite(pct)) return '–';
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

const LATENCY_PERCENTILES = ['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'p999Ms'] as const;

/** The numbers that matter for a record, in one short line. */
export function keyNumbers(r: ShipgateRecord): string {
  const parts: string[] = [];
  if (r.budgets) {
    for (const [name, b] of Object.entries(r.budgets)) {
      const limit = b.limit !== undefined ? ` / ${metric(name, b.limit)}` : '';
      const base = b.deltaPct !== undefined ? ` (${delta(b.deltaPct)} vs baseline)` : '';
      parts.push(`${name} ${metric(name, b.value)}${limit}${base}${b.ok ? '' : ' ✗'}`);
    }
    // The latency percentiles no budget covers, so the tail is visible next to the budgets.
    for (const name of LATENCY_PERCENTILES) {
      const v = r.metrics?.[name];
      if (v !== undefined && !(name in r.budgets)) parts.push(`${name} ${metric(name, v)}`);
    }
  } else if (r.metrics) {
    for (const [name, v] of Object.entries(r.metrics).slice(0, 6)) parts.push(`${name} ${metric(name, v)}`);
  }
  return parts.join(', ');
}

/** What the query check leaves on a test record (`evidence.queries`, plugins/vitest/queries.ts). */
interface QueryEvidence {
  check: 'on' | 'off';
  reason?: string;
  allowed: { match: string; reason?: string }[];
  requests: { label: string; repeated: { shape: string; count: number }[] }[];
}

/**
 * The tests whose query check the report should show: a shape repeated, one allowed, or the
 * check turned off (the repeats are listed even then: not enforced is not unseen).
 */
export function queryCheckRows(records: readonly ShipgateRecord[]): {
  record: ShipgateRecord;
  /** `off (reason)`, or `on` with the shapes allowed to repeat; `shape` and `text` format each part. */
  check: (format: { shape(s: string): string; text(s: string): string }) => string;
  repeated: { label: string; shape: string; count: number }[];
}[] {
  const out = [];
  for (const record of records) {
    const q = record.evidence?.queries as QueryEvidence | undefined;
    if (!q || !Array.isArray(q.requests)) continue;
    const repeated = q.requests.flatMap((x) => x.repeated.map((s) => ({ label: x.label, ...s })));
    if (q.check !== 'off' && q.allowed.length === 0 && repeated.length === 0) continue;
    const check = ({ shape, text }: { shape(s: string): string; text(s: string): string }) =>
      q.check === 'off'
        ? `off (${text(q.reason ?? 'no reason given')})`
        : q.allowed.length
          ? `on; allowed: ${q.allowed.map((a) => `${shape(a.match)}${a.reason ? ` (${text(a.reason)})` : ''}`).join(', ')}`
          : 'on';
    out.push({ record, check, repeated });
  }
  return out;
}
