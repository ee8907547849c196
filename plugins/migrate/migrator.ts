/**
 * The migrator plug-in point, after pgtestdb: `hash()` names the schema a migrator
 * produces (it becomes part of the template database name), `migrate(url)` applies it.
 * One implementation per file: prisma.ts, prisma-sql.ts, function.ts.
 */

/** Result of one migrator run. */
export interface MigrateResult {
  /** Migrations applied by this run, in order (names, e.g. `20240101000000_init`). */
  applied: string[];
  /** Wall time in microseconds. */
  durationUs: number;
  /**
   * Things worth knowing that did not stop the run, e.g. an applied migration whose file was
   * edited since (checksum differs, line endings aside) or one recorded in the database but
   * missing locally. Prisma's `migrate deploy` ignores both silently.
   */
  warnings?: string[];
}

/** A migration file about to run, for per-file hooks (migration smoke samples pg_locks with it). */
export interface MigrationFileInfo {
  /** Migration name (its folder), e.g. `20240101000000_init`. */
  name: string;
  /** Absolute path of the file. */
  path: string;
  /** The script exactly as sent to Postgres. */
  sql: string;
  /** 0-based position among the files this run applies. */
  index: number;
  /** Backend pid of the session running the file, to filter pg_locks / pg_stat_activity. */
  pid?: number;
}

/** A migration file that ran, successfully or not. */
export interface MigrationFileResult extends MigrationFileInfo {
  /** Wall time of the script alone (not the history bookkeeping), in microseconds. */
  durationUs: number;
  /** The error Postgres raised, when the file failed. */
  error?: unknown;
}

/** Hook for progress lines (template build, smoke). */
export type ProgressFn = (message: string) => void;

export interface MigrateOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
  /**
   * Called before each migration file runs, and awaited, so a sampler can start first. Only
   * migrators that run files themselves call it (`prisma-sql`); `prisma` and `function` cannot.
   */
  onFileStart?(info: MigrationFileInfo): void | Promise<void>;
  /** Called after each migration file ran (and was recorded), with its duration and error, if any. */
  onFileEnd?(info: MigrationFileResult): void | Promise<void>;
}

/** A migrator turns an empty database into the project's schema. */
export interface Migrator {
  /** Short name, e.g. `prisma-sql`. */
  readonly name: string;
  /**
   * Hex digest of everything that determines the resulting schema: migration file names and
   * contents, migrator settings. Stable across machines for the same inputs.
   */
  hash(): Promise<string>;
  /** Applies all pending migrations to the database at `url`. */
  migrate(url: string, options?: MigrateOptions): Promise<MigrateResult>;
}
