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

/** Exit codes of the one policy (`exitCodeFor`). */
export const EXIT = { ok: 0, regression: 1, failed: 2, inconclusive: 3 } as const;

/**
 * The exit-code policy: 2 for any failed record (failed test, violated SLO, unsafe migration)
 * or run error; else 1 for any regression; else 3 for any inconclusive result; else 0.
 */
export function exitCodeFor(records: readonly ShipgateRecord[], errors: readonly unknown[] = []): number {
  if (errors.length > 0 || records.some((r) => r.status === 'failed')) return EXIT.failed;
  if (records.some((r) => r.regression)) return EXIT.regression;
  if (records.some((r) => r.status === 'inconclusive')) return EXIT.inconclusive;
  return EXIT.ok;
}
