import { ShipgateError } from '../core/errors.ts';

/**
 * The one record model every kind of result is reported in: Vitest and Playwright tests,
 * performance budgets, k6 load runs and migration-smoke checks. Each process writes a
 * {@link RecordFile} into the report directory; `shipgate report` merges and renders them.
 */

/** Outcome of one record. `flaky` = passed on retry; `inconclusive` = could not be judged. */
export type RecordStatus = 'passed' | 'failed' | 'skipped' | 'flaky' | 'inconclusive';

/** What produced the record. */
export type RecordKind = 'test' | 'e2e' | 'budget' | 'load' | 'migration';

/** A file the record points at (trace, screenshot, log excerpt, k6 summary, dump). */
export interface Attachment {
  name: string;
  /** Path relative to the report directory, or absolute. */
  path: string;
  contentType: string;
}

/** One result. Metrics use explicit units in their names (`p95Ms`, `rps`, `lockHoldMs`). */
export interface ShipgateRecord {
  /** Stable across runs: `<kind>:<file>:<suite…>:<name>`; used to match baselines and shards. */
  id: string;
  kind: RecordKind;
  /** Which adapter wrote it: `vitest`, `playwright`, `budget`, `k6`, `migrate-smoke`. */
  runner: string;
  name: string;
  /** describe/suite path, outermost first. */
  suite: string[];
  status: RecordStatus;
  durationMs: number;
  /** Source file relative to the repo root, and line where known. */
  file?: string;
  line?: number;
  /** Failure or inconclusive reason, one line first. */
  message?: string;
  stack?: string;
  /** Attempts beyond the first. */
  retries?: number;
  /** Budgets: compared with the baseline and judged a regression (exit code 1). */
  regression?: boolean;
  /** Numbers that matter for this kind: `p50Ms`, `p95Ms`, `p99Ms`, `rps`, `errorRate`, `n`, … */
  metrics?: Record<string, number>;
  /** Budgets against their limits: `{ metric: { value, limit, baseline?, deltaPct? } }`. */
  budgets?: Record<string, { value: number; limit?: number; baseline?: number; deltaPct?: number; ok: boolean }>;
  /** Free-form evidence: slowest trace ids, lock modes and hold times, rewritten relations, SQLSTATE… */
  evidence?: Record<string, unknown>;
  attachments?: Attachment[];
}

/** What one process writes: `<reportDir>/records/<producer>-<pid>-<n>.json`. */
export interface RecordFile {
  format: 'shipgate.records/v1';
  producer: string;
  /** CI shard label, e.g. `2/4` (`SHIPGATE_SHARD`). */
  shard?: string;
  /** The run that wrote it (`SHIPGATE_RUN_ID`): one `shipgate test`, or one Vitest run. */
  run?: string;
  /** Git commit (`GITHUB_SHA` or `git rev-parse HEAD`). */
  commit?: string;
  /** Hash of the migrations the run used (the template hash). */
  schemaVersion?: string;
  startedAt: string;
  finishedAt: string;
  records: ShipgateRecord[];
  /** Errors outside any record: a crashed worker, a failing sink, an unhandled rejection. */
  errors: { source: string; message: string }[];
}

/** The outcome categories the exit-code policy maps to codes. */
export type Outcome = 'failed' | 'error' | 'regression' | 'inconclusive' | 'flaky';

/** Exit code per outcome. Default: failed/error 2, regression 1, inconclusive 3, flaky 0. */
export type ExitPolicy = Record<Outcome, number>;

/** The default policy. Override with `SHIPGATE_EXIT_POLICY="regression=0,flaky=2"` or `--policy`. */
export const DEFAULT_POLICY: ExitPolicy = { failed: 2, error: 2, regression: 1, inconclusive: 3, flaky: 0 };

/** Precedence when several outcomes occur: an SLO violation (failed) wins over a regression, etc. */
export const OUTCOME_ORDER: readonly Outcome[] = ['failed', 'error', 'regression', 'inconclusive', 'flaky'];

/** Which outcome a record counts as for the policy, if any. */
export function outcomeOf(r: ShipgateRecord): Outcome | undefined {
  if (r.status === 'failed') return 'failed';
  if (r.regression) return 'regression';
  if (r.status === 'inconclusive') return 'inconclusive';
  if (r.status === 'flaky') return 'flaky';
  return undefined;
}

/** An exit policy that does not parse: names every bad part and SHIPGATE_EXIT_POLICY / --policy. */
export class ExitPolicyError extends ShipgateError {}

/** Parses `key=code,…` over the default policy; throws an ExitPolicyError on unknown keys or non-integer codes. */
export function parsePolicy(spec: string | undefined, base: ExitPolicy = DEFAULT_POLICY): ExitPolicy {
  const policy = { ...base };
  if (!spec) return policy;
  const problems: string[] = [];
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, value] = part.split('=').map((x) => x.trim());
    if (!key || !(OUTCOME_ORDER as readonly string[]).includes(key)) {
      problems.push(`unknown outcome "${key}" (known: ${OUTCOME_ORDER.join(', ')})`);
    } else if (!value || !/^\d{1,3}$/.test(value) || Number(value) > 255) {
      problems.push(`"${part}" needs an exit code from 0 to 255`);
    } else {
      policy[key as Outcome] = Number(value);
    }
  }
  if (problems.length) {
    throw new ExitPolicyError(
      'SHIPGATE_EXIT_POLICY',
      `Invalid exit policy "${spec}": ${problems.join('; ')}. Fix SHIPGATE_EXIT_POLICY or --policy.`,
    );
  }
  return policy;
}

/**
 * The one exit-code policy: the code of the first outcome in {@link OUTCOME_ORDER} that occurs
 * and maps to a non-zero code; 0 when none does. `errors` are run errors outside any record.
 */
export function exitCodeFor(
  records: readonly ShipgateRecord[],
  errors: readonly unknown[] = [],
  policy: ExitPolicy = DEFAULT_POLICY,
): number {
  const present = new Set<Outcome>();
  for (const r of records) {
    const o = outcomeOf(r);
    if (o) present.add(o);
  }
  if (errors.length > 0) present.add('error');
  for (const o of OUTCOME_ORDER) if (present.has(o) && policy[o] !== 0) return policy[o];
  return 0;
}

/** Whether a record makes the run fail under `policy` (counted as "failed" in the summary line). */
export function isFailing(r: ShipgateRecord, policy: ExitPolicy = DEFAULT_POLICY): boolean {
  const o = outcomeOf(r);
  return o !== undefined && policy[o] !== 0;
}
