/**
 * What the smoke's checks share: the options, the two migration sets, and what the stages
 * before them produced (the server, the seeded base database, the snapshot, the dump tools, the
 * head apply). A check reads it through the accessors below, which fail loudly when a check is
 * listed before the stage it needs, and may add to it (the backup leaves its dump, the apply
 * its per-file evidence) for the checks after it.
 */
import type pg from 'pg';
import type { Databases, TestDatabase } from '../../postgres/databases.ts';
import type { ApplyFailure } from '../apply.ts';
import type { DumpArea, DumpFile } from '../backup.ts';
import type { TableSnapshot } from '../fingerprint.ts';
import type { TableInfo } from '../introspect.ts';
import type { ResolvedSmokeOptions } from '../options.ts';
import type { PgDumpError, ToolChoice } from '../pg-tools.ts';
import type { MigrationSet } from '../sources.ts';
import type { CheckId, CheckResult, FileEvidence, SmokeResult } from '../types.ts';

/** The server the smoke runs on. */
export interface SmokeServer {
  adminUrl: string;
  containerId: string | undefined;
  provider: string;
  major: number;
  version: string;
}

/** The seeded base database and what was measured on it before the head apply. */
export interface SeededBase {
  dbs: Databases;
  target: TestDatabase;
  /** A connection to `target` (the backup may replace it: a template copy needs the database free). */
  client: pg.Client;
  tables: TableInfo[];
  snapshot: TableSnapshot[];
  /** Rows per table label, at the snapshot. */
  rows: Map<string, number>;
  tools: ToolChoice;
  /** Where dumps go; undefined without a pg_dump of the server's major. */
  area: DumpArea | undefined;
  /** Why the configured pg_dump cannot dump this server. */
  unusable: PgDumpError | undefined;
}

/** The head apply's outcome. */
export interface HeadApply {
  files: FileEvidence[];
  failure?: ApplyFailure;
  warnings: string[];
}

/** The smoke's shared state, filled in as it goes. */
export interface SmokeContext {
  opts: ResolvedSmokeOptions;
  base: MigrationSet;
  head: MigrationSet;
  /** Migrations in head and not in base, by name. */
  newMigrations: string[];
  newFiles: MigrationSet['migrations'];
  schema: { path: string } | { reason: string };
  result: SmokeResult;
  /** The checks that ran so far, in order. */
  checks: CheckResult[];
  /** Runs `fn` as a named, timed step (progress line and `result.steps`). */
  step: <T>(name: string, fn: () => Promise<T> | T) => Promise<T>;
  /** Registers a cleanup, run in reverse order at the end, on failure and on SIGINT/SIGTERM. */
  onCleanup: (fn: () => Promise<void> | void) => void;
  server?: SmokeServer;
  /** Set when the base migrations did not apply (then nothing after the apply check can run). */
  baseFailure?: ApplyFailure;
  seeded?: SeededBase;
  backup?: { dump?: DumpFile; templateCopy?: TestDatabase };
  apply?: HeadApply;
  /** The seeded base as it was before the head apply, restored from the backup (the `restore` check). */
  baseCopy?: TestDatabase;
}

/** What a check needs before it can run: nothing, the server, the base database (applied or failed), or a seeded base. */
export type Stage = 'none' | 'server' | 'database' | 'seeded';

/**
 * One check of the smoke. The runner prepares `needs`, skips the check with `skip(ctx)`'s reason
 * when it gives one, and otherwise runs it as a timed step named by its id.
 */
export interface SmokeCheck {
  id: CheckId;
  title: string;
  needs: Stage;
  /** Why this check cannot run now (reported as SKIPPED with that reason), or undefined. */
  skip?: (ctx: SmokeContext) => string | undefined;
  run: (ctx: SmokeContext) => Promise<CheckResult> | CheckResult;
  /** Runs while the checks after it do; a later check that needs what it leaves in the context lists it in `waitsFor`. */
  concurrent?: boolean;
  /** Concurrent checks this one waits for. */
  waitsFor?: CheckId[];
}

function missing(what: string): never {
  throw new Error(`shipgate smoke: a check ran before the ${what} stage (check the order in checks/index.ts)`);
}

/** The server (stage `server`). */
export const serverOf = (ctx: SmokeContext): SmokeServer => ctx.server ?? missing('server');
/** The seeded base (stage `seeded`). */
export const seededOf = (ctx: SmokeContext): SeededBase => ctx.seeded ?? missing('seeded');
/** The head apply (the `apply` check). */
export const applyOf = (ctx: SmokeContext): HeadApply => ctx.apply ?? missing('apply');
/** The SQL of a new migration by name, or of all of them for the prisma migrator's single step. */
export const sqlOf = (ctx: SmokeContext, name: string): string | undefined =>
  ctx.newFiles.find((m) => m.name === name)?.sql ??
  (name.startsWith('(all files') ? ctx.newFiles.map((m) => m.sql ?? '').join(';\n') : undefined);
/** Skip reason shared by the checks that need a complete head apply. */
export const unlessApplied = (ctx: SmokeContext): string | undefined =>
  ctx.apply?.failure ? 'the head migrations did not apply completely' : undefined;
