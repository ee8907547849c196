/**
 * The migration smoke's result model: plain JSON-serialisable data. Each check gets a verdict
 * and findings with evidence; `verdict.ts` ranks them, `render.ts` prints them, `records.ts`
 * turns them into unified-report records.
 */

/**
 * How bad a check or a run is (scale.ts maps every finding code to one). FAIL: the deploy fails,
 * or the repository or the backups are inconsistent. UNSAFE: the deploy succeeds but harms
 * production. WARN: a human should look. SAFE: measured and fine.
 */
export type Verdict = 'SAFE' | 'WARN' | 'UNSAFE' | 'FAIL';

/** A finding's class: a Verdict, or INFO (information only: shown, never raises a check or the run above SAFE). */
export type FindingVerdict = Verdict | 'INFO';

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
  | 'dependencies'
  | 'backup'
  | 'restore'
  | 'replay'
  | 'restore-after';

/** One thing a check found. */
export interface Finding {
  /** Stable code `<check>/<what>`, e.g. `locks/table-rewrite`, `lint/require-concurrent-index-creation`. */
  code: string;
  verdict: FindingVerdict;
  /** What it is about: `table`, `table.column`, a relation or a migration name. */
  target?: string;
  /** The migration (folder name) it comes from, when it is about one. */
  migration?: string;
  /** One line, with the numbers. */
  message: string;
  evidence?: Record<string, unknown>;
  /** Set when a `severity` rule (`pattern=LEVEL`) set its class. */
  severity?: string;
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
  /** Set to false when the file requested the lock and never got it (it waited, then failed): `holdMs` is 0. */
  granted?: boolean;
  /** pg_total_relation_size of the table before the file ran (the basis when production gives only bytes). */
  bytes?: number;
}

/** A lock the migration waited for (any lock type: a relation, another session's transaction or snapshot). */
export interface WaitEvidence {
  /** pg_locks.locktype: `relation`, `transactionid` (a row another transaction holds), `virtualxid` (its snapshot), … */
  locktype: string;
  /** The relation, for a relation wait. */
  relation: string | null;
  mode: string;
  /** How long it waited, ms (from pg_locks.waitstart where the server has it; else sampled). */
  waitedMs: number;
  /** Whether the lock was then granted (false: the file failed while waiting, e.g. lock_timeout). */
  granted: boolean;
  /** Other sessions that blocked it (pg_blocking_pids), with their query. */
  blockers: { pid: number; application: string; state: string | null; query: string | null }[];
}

/** A foreign key that the head migrations left without an index on its referencing columns. */
export interface ForeignKeyGap {
  constraint: string;
  table: string;
  columns: string[];
  references: string;
  /** The index to add. */
  fix: string;
}

/** What the watcher measured while one migration file ran. */
export interface FileEvidence {
  migration: string;
  durationMs: number;
  /** WAL bytes written on the server while the file ran (`pg_current_wal_insert_lsn()` difference). */
  walBytes: number | null;
  locks: LockEvidence[];
  /**
   * Relations whose relfilenode changed: a table or index rewrite, with the indexes a rewrite
   * re-created under their old names. `emptied`: the table's new storage is empty (TRUNCATE).
   */
  rewritten: { relation: string; kind: string; table?: string; rows?: number; emptied?: boolean }[];
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
  /** Set when the file hit lock_timeout (SQLSTATE 55P03): who blocked it and what it left behind. */
  lockTimeout?: LockTimeoutEvidence;
  /** Locks the file waited for, the smoke's own lock catcher excluded. */
  waits?: WaitEvidence[];
  /** Foreign keys without a supporting index after the file that had one (or did not exist) before the head apply. */
  unindexedForeignKeys?: ForeignKeyGap[];
}

/** A session that held the lock a migration waited for. */
export interface BlockerEvidence {
  pid: number;
  application: string;
  user: string | null;
  /** `active`, `idle in transaction`, … at the time it was seen. */
  state: string | null;
  /** Its current (or last) statement, up to 300 characters. */
  query: string | null;
  /** How long its transaction had been open when it was seen, ms. */
  xactMs: number | null;
  /** Relation locks it held (granted). */
  locks: { relation: string; mode: string }[];
}

/** What the smoke found after a lock_timeout abort. */
export interface LockTimeoutEvidence {
  /** What the migration waited for (`relation "orders"`, or `virtualxid` for CONCURRENTLY). */
  waitingFor: { locktype: string; relation: string | null; mode: string } | null;
  /** The sessions that blocked it: sampled while it waited (pg_blocking_pids), else held conflicting locks at abort time. */
  blockers: BlockerEvidence[];
  /** The `_prisma_migrations` row the failure left (finished_at NULL), when there is one. */
  prismaRow: { migration: string; startedAt: string; logs: string | null } | null;
  /** What the failed file left behind: INVALID indexes (with their fix) and other relations it created. */
  debris: { relation: string; kind: string; invalid: boolean; fix: string }[];
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
  /** 0 for SAFE or WARN, 2 for UNSAFE, FAIL or a WARN/INFO finding matched by `failOn`. */
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
