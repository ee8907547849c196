/**
 * `prisma-sql`: applies `prisma/migrations/<name>/migration.sql` with the semantics of
 * `prisma migrate deploy`, without Prisma's schema-engine binary. Matched against:
 * - prisma/prisma-engines schema-engine/core/src/commands/apply_migrations.rs: lock → initialize →
 *   list → refuse on failed rows (P3009) → for each unapplied folder in order: read script,
 *   record_migration_started, run script, then record_successful_step + record_migration_finished,
 *   or record_failed_step (logs) and stop.
 * - .../sql-schema-connector/src/flavour/postgres.rs: `pg_advisory_lock(72707369)` (10 s),
 *   `_prisma_migrations` DDL, `setup_connection` (creates the URL's `schema` if missing).
 * - .../flavour/postgres/connection.rs `apply_migration_script`: the whole file as ONE
 *   simple-protocol query. Postgres runs a multi-statement simple query as one implicit
 *   transaction and a single statement outside any, so `CREATE INDEX CONCURRENTLY` works only
 *   alone in its file (25001 otherwise), exactly as with Prisma.
 * - .../sql_migration_persistence.rs, .../schema-connector/src/checksum.rs: rows and checksums
 *   (see prisma-history.ts).
 * - prisma/prisma packages/migrate listMigrations (prisma@7.10.1 build/cli.js): folder listing
 *   (see migrations-dir.ts).
 * Deliberate differences: a missing migrations folder is an error (Prisma treats it as empty); the
 * lock is taken by polling (see advisory-lock.ts) and released explicitly (Prisma lets the session end
 * release it); the result carries warnings for edited or locally missing applied migrations
 * (deploy ignores them); the failing statement is located (Prisma only shows a syntax error's line).
 */
import pg from 'pg';
import { ConfigError, describeError, MigrationError, redactUrl } from '../core/errors.ts';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import { acquireLock, cancelOnAbort, releaseLock } from './advisory-lock.ts';
import {
  locateByPosition,
  MigrationFailedError,
  postgresErrorInfo,
  replayToFindFailingStatement,
} from './migration-failure.ts';
import { hashMigrations, lockfileProvider, readMigrationsFolder, resolveMigrationsDir } from './migrations-dir.ts';
import type { MigrateOptions, MigrateResult, MigrationFileInfo, Migrator } from './migrator.ts';
import {
  asDatabaseError,
  ensureSchema,
  failedRecords,
  formatApplyMigrationLogs,
  formatFoundFailedMigrations,
  initializeHistory,
  listMigrationRecords,
  type MigrationRecord,
  PRISMA_LOCK_TIMEOUT_MS,
  recordFailedStep,
  recordMigrationFinished,
  recordMigrationStarted,
  recordSuccessfulStep,
  scriptMatchesChecksum,
} from './prisma-history.ts';

/** Options of the `prisma-sql` migrator. */
export interface PrismaSqlOptions {
  /** Migrations folder. Default `prisma/migrations` (or `migrations/` beside `schemaPath`); env `SHIPGATE_MIGRATIONS_DIR`. */
  migrationsDir?: string;
  /** Prisma schema file or folder; only used to locate the default migrations folder, as Prisma does. */
  schemaPath?: string;
  /** Base for relative paths. Default `process.cwd()`. */
  cwd?: string;
  /** How long to wait for Prisma's advisory lock, in ms. Default 10000 (Prisma's own timeout). */
  lockTimeoutMs?: number;
}

/** The `prisma-sql` migrator; `migrationsDir` is the resolved absolute folder. */
export interface PrismaSqlMigrator extends Migrator {
  readonly name: 'prisma-sql';
  readonly migrationsDir: string;
}

const HASH_SETTINGS = { runner: 'prisma-sql', version: 1 };

/** Applies Prisma migration folders itself, with Prisma's history table, lock and semantics. */
export function prismaSqlMigrator(
  options: PrismaSqlOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): PrismaSqlMigrator {
  const dir = resolveMigrationsDir(options, env);
  const lockTimeoutMs = options.lockTimeoutMs ?? PRISMA_LOCK_TIMEOUT_MS;
  if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new ConfigError([`migrator.lockTimeoutMs is ${lockTimeoutMs}; expected a number of milliseconds >= 0`]);
  }
  return {
    name: 'prisma-sql',
    migrationsDir: dir,
    async hash() {
      return hashMigrations('prisma-sql', HASH_SETTINGS, readMigrationsFolder(dir));
    },
    migrate(url, migrateOptions = {}) {
      return runPrismaSql(url, dir, lockTimeoutMs, migrateOptions);
    },
  };
}

async function runPrismaSql(
  url: string,
  dir: string,
  lockTimeoutMs: number,
  options: MigrateOptions,
): Promise<MigrateResult> {
  const t0 = performance.now();
  const progress = options.onProgress ?? (() => {});
  const folder = readMigrationsFolder(dir);
  const provider = lockfileProvider(folder.lockfile);
  if (provider !== undefined && provider !== 'postgresql') {
    throw new MigrationError(
      'SHIPGATE_MIGRATION_PROVIDER_MISMATCH',
      `${dir}/migration_lock.toml says provider "${provider}", but prisma-sql migrates PostgreSQL (Prisma P3019).`,
      {
        hint: 'Point config key `migrator.migrationsDir` (or env SHIPGATE_MIGRATIONS_DIR) at a PostgreSQL migrations folder.',
      },
    );
  }
  const { schema, label } = describeUrl(url);
  throwIfAborted(options.signal, label);

  const client = new pg.Client({ ...pgConnectOptions(), connectionString: url, application_name: 'shipgate:migrate' });
  client.on('error', () => {}); // a killed backend surfaces as the failing query's error instead
  try {
    await client.connect();
  } catch (cause) {
    throw new MigrationError(
      'SHIPGATE_MIGRATION_CONNECT',
      `Cannot connect to ${redactUrl(url)} to migrate: ${describeError(cause)}.`,
      {
        cause,
        hint: 'Check that the database exists and the server is reachable (env SHIPGATE_DATABASE_URL for an external server).',
      },
    );
  }
  let locked = false;
  try {
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    if (schema !== undefined) await client.query(`SET search_path = "${schema.replace(/"/g, '""')}"`);
    await ensureSchema(client, schema ?? 'public');
    await acquireLock(client, lockTimeoutMs, label, () => throwIfAborted(options.signal, label));
    locked = true;
    await initializeHistory(client, schema ?? 'public', label);
    const records = await listMigrationRecords(client);
    const failed = failedRecords(records);
    if (failed.length > 0) {
      throw new MigrationError(
        'SHIPGATE_MIGRATION_BLOCKED',
        `Database ${label} has ${failed.length} failed migration(s) in _prisma_migrations (${failed.map((f) => `"${f.migration_name}"`).join(', ')}), so no new migrations are applied (Prisma P3009). Prisma's message:\n${formatFoundFailedMigrations(failed).trimEnd()}\n`,
        {
          hint: `Fix: drop and rebuild this database (shipgate rebuilds templates when the migrations hash changes), or mark the row with \`prisma migrate resolve --rolled-back ${failed[0]?.migration_name}\`.`,
        },
      );
    }
    const live = records.filter((r) => r.rolled_back_at === null);
    const warnings = historyWarnings(live, folder.migrations, dir);
    const appliedNames = new Set(live.map((r) => r.migration_name));
    const pending = folder.migrations.filter((m) => !appliedNames.has(m.name));
    progress(`prisma-sql: ${pending.length} of ${folder.migrations.length} migrations to apply to ${label}`);

    const applied: string[] = [];
    for (const [index, migration] of pending.entries()) {
      throwIfAborted(options.signal, label);
      if (migration.sql === undefined) {
        throw new MigrationError(
          'SHIPGATE_MIGRATION_FILE_MISSING',
          `Migration folder "${migration.name}" has no readable migration.sql (${migration.readError}) (Prisma P3015).`,
          { hint: `Restore ${migration.path} or delete the folder from ${dir}.` },
        );
      }
      const info: MigrationFileInfo = { name: migration.name, path: migration.path, sql: migration.sql, index, pid };
      progress(`prisma-sql: applying ${migration.name} (${index + 1}/${pending.length})`);
      await options.onFileStart?.(info);
      const id = await recordMigrationStarted(client, migration.name, migration.sql);
      const started = performance.now();
      let error: unknown;
      const stopCancel = cancelOnAbort(url, pid, options.signal);
      try {
        await client.query(migration.sql);
      } catch (e) {
        error = e ?? new Error('unknown error');
      } finally {
        stopCancel();
      }
      const durationUs = Math.round((performance.now() - started) * 1000);
      if (error === undefined) {
        await recordSuccessfulStep(client, id);
        await recordMigrationFinished(client, id);
        applied.push(migration.name);
        await options.onFileEnd?.({ ...info, durationUs });
        continue;
      }
      // A dead connection cannot record the failure either; the script's error is still the one to report.
      const recorded = await recordFailedStep(
        client,
        id,
        formatApplyMigrationLogs(migration.name, migration.sql, error),
      ).then(
        () => true,
        () => false,
      );
      await options.onFileEnd?.({ ...info, durationUs, error });
      if (options.signal?.aborted) {
        throw new MigrationError(
          'SHIPGATE_MIGRATION_ABORTED',
          `Migration "${migration.name}" was cancelled (${describeError(error)}).`,
          {
            cause: error,
            hint: 'The run was aborted; its database is recorded as failed and should be dropped.',
          },
        );
      }
      const postgres = postgresErrorInfo(error);
      let location = locateByPosition(migration.sql, postgres);
      if (!location.found && location.of > 1 && asDatabaseError(error)) {
        location = await replayToFindFailingStatement(client, migration.sql).catch((e: unknown) => ({
          found: false as const,
          of: location.of,
          why: `replay failed: ${describeError(e)}`,
        }));
      }
      throw new MigrationFailedError(
        { migration: migration.name, file: migration.path, location, postgres, recorded },
        { cause: error },
      );
    }
    const durationUs = Math.round((performance.now() - t0) * 1000);
    return warnings.length > 0 ? { applied, durationUs, warnings } : { applied, durationUs };
  } finally {
    if (locked) await releaseLock(client);
    await client.end().catch(() => {});
  }
}

function throwIfAborted(signal: AbortSignal | undefined, label: string): void {
  if (!signal?.aborted) return;
  throw new MigrationError(
    'SHIPGATE_MIGRATION_ABORTED',
    `Migrating ${label} was aborted before it finished: ${describeError(signal.reason)}.`,
    {
      cause: signal.reason,
      hint: 'The run was cancelled; migrations applied so far stay applied.',
    },
  );
}

function historyWarnings(
  live: readonly MigrationRecord[],
  local: ReturnType<typeof readMigrationsFolder>['migrations'],
  dir: string,
): string[] {
  const warnings: string[] = [];
  const byName = new Map(local.map((m) => [m.name, m]));
  for (const record of live) {
    if (record.finished_at === null) continue;
    const file = byName.get(record.migration_name);
    if (!file) {
      warnings.push(
        `Migration "${record.migration_name}" is recorded as applied in _prisma_migrations but has no folder in ${dir}.`,
      );
    } else if (file.sql !== undefined && !scriptMatchesChecksum(file.sql, record.checksum)) {
      warnings.push(
        `Migration "${record.migration_name}" was modified after it was applied: ${file.path} no longer matches checksum ${record.checksum} recorded in _prisma_migrations (prisma migrate dev would ask to reset).`,
      );
    }
  }
  return warnings;
}

function describeUrl(url: string): { schema: string | undefined; label: string } {
  try {
    const u = new URL(url);
    const schema = u.searchParams.get('schema') ?? undefined;
    return { schema: schema || undefined, label: `"${decodeURIComponent(u.pathname.slice(1)) || 'postgres'}"` };
  } catch {
    return { schema: undefined, label: `"${redactUrl(url)}"` };
  }
}
