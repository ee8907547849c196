/**
 * The migration smoke's result model: plain JSON-serialisable data. Each check gets a verdict
 * and findings with evidence; `verdict.ts` ranks them, `render.ts` prints them, `records.ts`
 * turns them into unified-report records.
 */

/** How bad a finding is. SAFE: measured and fine. WARN: worth a look. UNSAFE: applies but harms. FAIL: does not apply. */
export type Verdict = 'SAFE' | 'WARN' | 'UNSAFE' | 'FAIL';

/** A check's verdict; SKIPPED when it could not run for a reason outside the migration (the reason is given). */
export type CheckVerdict = Verdict | 'SKIPPED';

/** The checks, in the order they run. */
export type CheckId =
  | 'history'
  | 'lint'
  | 'apply'
  | 'locks'
  | 'recorded'
  | 'data'
  | 'invariants'
  | 'drift'
  | 'backup'
  | 'restore'
  | 'restore-after';

/** One thing a check found. */
export interface Finding {
  /** Stable code `<check>/<what>`, e.g. `locks/table-rewrite`, `lint/require-concurrent-index-creation`. */
  code: string;
  verdict: Verdict;
  /** What it is about: `table`, `table.column`, a relation or a migration name. */
  target?: string;
  /** The migration (folder name) it comes from, when it is about one. */
  migration?: string;
  /** One line, with the numbers. */
  message: string;
  evidence?: Record<string, unknown>;
  /** Set when an `allow` pattern accepted it (UNSAFE became WARN). */
  allowed?: string;
  /** Set when a `failOn` pattern makes this WARN fail the run. */
  failsRun?: string;
}

/** One check's outcome. */
export interface CheckResult {
  id: CheckId;
  title: string;
  verdict: CheckVerdict;
  /** Why it was skipped. */
  reason?: string;
  durationMs: number;
  findings: Finding[];
  evidence: Record<string, unknown>;
}

/** A lock one migration file held on one relation (the strongest mode seen). */
export interface LockEvidence {
  relation: string;
  /** `table` or `index` etc. (pg_class.relkind spelled out). */
  kind: string;
  mode: string;
  /** How long that mode was held, ms; resolution is the sampling interval. */
  holdMs: number;
  /** How long the file waited for a lock on this relation (ungranted), ms. */
  waitedMs: number;
  /** Whether the relation existed before the file ran (locks on new relations block nobody). */
  existed: boolean;
  /** Rows in the table at the snapshot (tables that existed before the head apply). */
  rows?: number;
  blocksWrites: boolean;
  blocksReads: boolean;
  /** Set when no sample caught the lock and it was inferred (a rewrite takes ACCESS EXCLUSIVE). */
  inferred?: boolean;
  /** Set when the request was seen queued behind the lock catcher (its hold time is then from the release). */
  caught?: boolean;
}

/** What the watcher measured while one migration file ran. */
export interface FileEvidence {
  migration: string;
  durationMs: number;
  /** WAL bytes written on the server while the file ran (`pg_current_wal_insert_lsn()` difference). */
  walBytes: number | null;
  locks: LockEvidence[];
  /** Relations whose relfilenode changed: a table or index rewrite. */
  rewritten: { relation: string; kind: string; table?: string; rows?: number }[];
  /** Relations the file created or dropped. */
  created: { relation: string; kind: string; table?: string }[];
  dropped: { relation: string; kind: string }[];
  /** Samples taken and the mean interval between them, ms. */
  samples: number;
  sampleIntervalMs: number;
  /** Concurrent read/write probes on the tables the file names (with `probes`). */
  probes?: ProbeEvidence[];
  /** Set when the file failed. */
  error?: { sqlstate: string | undefined; message: string; statement?: string; line?: number; lockWaitMs: number };
}

/** How long probes on one table were blocked while a file ran. */
export interface ProbeEvidence {
  table: string;
  reads: number;
  writes: number;
  /** Longest single read / write, ms (a blocked probe waits for the lock). */
  maxReadMs: number;
  maxWriteMs: number;
  /** Sum of the time probes spent beyond their own median, ms: the time they were blocked. */
  readBlockedMs: number;
  writeBlockedMs: number;
  errors: string[];
}

/** A migration set the smoke compared. */
export interface MigrationSetInfo {
  /** `dir` or `git`. */
  source: 'dir' | 'git';
  /** The folder, or `<ref>:<path>`. */
  label: string;
  commit?: string;
  migrations: string[];
}

/** Rows per seeded table. */
export interface SeedSummary {
  mode: 'generated' | 'function';
  durationMs: number;
  /** Rows per table, with the insert's wall time (ms). */
  tables: { table: string; rows: number; ms?: number; note?: string }[];
  warnings: string[];
}

/** The smoke's full result. */
export interface SmokeResult {
  format: 'shipgate.migration-smoke/v1';
  verdict: Verdict;
  /** 0 for SAFE or WARN, 2 for UNSAFE, FAIL or a WARN matched by `failOn`. */
  exitCode: 0 | 2;
  /** Codes (with targets) that made the run fail. */
  failing: string[];
  base: MigrationSetInfo;
  head: MigrationSetInfo;
  newMigrations: string[];
  migrator: 'prisma-sql' | 'prisma';
  server: { provider: string; version: string; major: number; containerId?: string };
  settings: { timeZone: string; lockTimeout: string; statementTimeout: string };
  seed?: SeedSummary;
  files: FileEvidence[];
  checks: CheckResult[];
  steps: { step: string; durationMs: number }[];
  durationMs: number;
  startedAt: string;
}
