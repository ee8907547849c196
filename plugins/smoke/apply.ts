/**
 * Applies the head migrations under the production-like session settings with the watcher
 * (and optional probes) running around each file. `prisma-sql` has per-file hooks with the
 * migrating backend's pid; `prisma migrate deploy` has none, so the whole run is watched as
 * one unit (every other client backend on the database) and per-file times come from
 * `_prisma_migrations`. A file cancelled by lock_timeout is inspected at once (lock-timeout.ts):
 * who blocked it, the failed `_prisma_migrations` row, and what it left behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import { describeApplyError, MigrationFailedError } from '../migrate/migration-failure.ts';
import type { MigrateOptions } from '../migrate/migrator.ts';
import { prismaMigrator } from '../migrate/prisma.ts';
import { prismaSqlMigrator } from '../migrate/prisma-sql.ts';
import type { TableInfo } from './introspect.ts';
import { BlockerWatch, LOCK_TIMEOUT_SQLSTATE } from './lock-timeout.ts';
import { Probes, tablesNamedIn } from './probes.ts';
import type { FileEvidence, LockTimeoutEvidence } from './types.ts';
import { LockWatcher } from './watcher.ts';

/** A failed apply: the file, SQLSTATE (or what refused it), statement and message. */
export interface ApplyFailure {
  migration: string | undefined;
  sqlstate: string | undefined;
  /** Set when nothing of the migration ran: what refused it, with its code. */
  refusedBy?: string;
  /** Set when it ran and failed with an error that is not Postgres' (no SQLSTATE to give). */
  notPostgres?: boolean;
  message: string;
  statement?: string;
  line?: number;
  lockWaitMs: number;
  /** Set for a lock_timeout abort (SQLSTATE 55P03): the blockers, the failed row, the debris. */
  lockTimeout?: LockTimeoutEvidence;
}

/**
 * Builds the configured migrator on a migrations folder. For `prisma`, a throwaway
 * prisma.config.ts points `migrations.path` at the folder and reads the URL from DATABASE_URL
 * (Prisma 7's `migrate deploy` takes neither on the command line).
 */
export function migratorFor(kind: 'prisma-sql' | 'prisma', dir: string, cwd: string, cli: string | undefined) {
  if (kind === 'prisma-sql') return { migrator: prismaSqlMigrator({ migrationsDir: dir, cwd }), dispose: () => {} };
  const project = mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-prisma-'));
  writeFileSync(path.join(project, 'schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
  writeFileSync(
    path.join(project, 'prisma.config.ts'),
    `export default { schema: ${JSON.stringify(path.join(project, 'schema.prisma'))}, migrations: { path: ${JSON.stringify(dir)} }, datasource: { url: process.env.DATABASE_URL } };\n`,
  );
  const migrator = prismaMigrator({
    migrationsDir: dir,
    cwd,
    ...(cli ? { cli } : {}),
    config: path.join(project, 'prisma.config.ts'),
  });
  return { migrator, dispose: () => rmSync(project, { recursive: true, force: true }) };
}

const MIGRATORS = { 'prisma-sql': 'prisma-sql', prisma: 'prisma migrate deploy' } as const;

/**
 * Describes a migrator error as a failure with its migration and SQLSTATE, or what refused it;
 * `pending` is the migration that was next (for refusals that name none).
 */
export function failureOf(
  err: unknown,
  lockWaitMs: number,
  kind?: 'prisma-sql' | 'prisma',
  pending?: string,
): ApplyFailure {
  const info = describeApplyError(err, kind ? MIGRATORS[kind] : 'the migrator', pending);
  const f: ApplyFailure = { migration: info.migration, sqlstate: info.sqlstate, message: info.message, lockWaitMs };
  if (info.refusedBy) f.refusedBy = info.refusedBy;
  if (info.notPostgres) f.notPostgres = true;
  if (err instanceof MigrationFailedError && err.location.found) {
    f.statement = err.location.statement.text.slice(0, 300);
    f.line = err.location.statement.line;
  }
  return f;
}

/** Applies the head side; returns per-file evidence and the failure, if any. */
export async function applyHead(opts: {
  kind: 'prisma-sql' | 'prisma';
  dir: string;
  cwd: string;
  cli: string | undefined;
  url: string;
  /** The target database URL without session settings, for the watcher and probes. */
  plainUrl: string;
  tables: TableInfo[];
  rows: Map<string, number>;
  probes: boolean;
  sampleIntervalMs: number;
  newMigrations: { name: string; sql: string | undefined }[];
  log: (line: string) => void;
}): Promise<{ files: FileEvidence[]; failure?: ApplyFailure; warnings: string[] }> {
  const watcher = new LockWatcher(opts.plainUrl, opts.sampleIntervalMs);
  await watcher.connect();
  const blockers = new BlockerWatch(opts.plainUrl);
  await blockers.connect().catch(async (err: unknown) => {
    await watcher.close();
    throw err;
  });
  watcher.exclude([blockers.pid]);
  const files: FileEvidence[] = [];
  let probes: Probes | undefined;
  let disposeMigrator = () => {};
  const openProbes = async (sql: string) => {
    const named = tablesNamedIn(sql, opts.tables);
    if (!opts.probes || named.length === 0) return;
    probes = await Probes.open(opts.plainUrl, named);
    watcher.exclude(await probes.pids());
    probes.start();
  };
  const closeProbes = async (file: FileEvidence) => {
    if (!probes) return;
    file.probes = await probes.stop();
    await probes.close();
    probes = undefined;
  };
  try {
    const built = migratorFor(opts.kind, opts.dir, opts.cwd, opts.cli);
    disposeMigrator = built.dispose;
    const migrator = built.migrator;
    if (opts.kind === 'prisma') {
      await openProbes(opts.newMigrations.map((m) => m.sql ?? '').join('\n'));
      await watcher.begin(undefined);
      const t0 = performance.now();
      let failure: ApplyFailure | undefined;
      const result = await migrator.migrate(opts.url, { onProgress: opts.log }).catch((err: unknown) => {
        failure = failureOf(err, watcher.lockWaitMs(), 'prisma');
        return undefined;
      });
      const file = await watcher.end(
        '(all files: prisma migrate deploy)',
        performance.now() - t0,
        opts.rows,
        failure ? (failure.sqlstate ?? 'error') : undefined,
      );
      await closeProbes(file);
      files.push(file);
      if (failure) {
        failure.migration ??= await lastStarted(opts.plainUrl);
        file.error = { sqlstate: failure.sqlstate, message: failure.message, lockWaitMs: failure.lockWaitMs };
        if (failure.sqlstate === LOCK_TIMEOUT_SQLSTATE) {
          const sql = opts.newMigrations.find((m) => m.name === failure?.migration)?.sql ?? '';
          file.lockTimeout = await blockers.inspect(failure.migration, tablesNamedIn(sql, opts.tables), file.created);
          failure.lockTimeout = file.lockTimeout;
        }
        return { files, failure, warnings: [] };
      }
      return { files, warnings: result?.warnings ?? [] };
    }
    const hooks: MigrateOptions = {
      onProgress: opts.log,
      onFileStart: async (info) => {
        await openProbes(info.sql);
        await watcher.begin(info.pid, tablesNamedIn(info.sql, opts.tables), info.sql);
        if (info.pid !== undefined) blockers.begin(info.pid);
      },
      onFileEnd: async (info) => {
        const lockWaitMs = watcher.lockWaitMs();
        const file = await watcher.end(
          info.name,
          info.durationUs / 1000,
          opts.rows,
          info.error !== undefined ? ((info.error as { code?: string }).code ?? 'error') : undefined,
        );
        await blockers.end();
        await closeProbes(file);
        if (info.error !== undefined) {
          const f = failureOf(info.error, lockWaitMs, 'prisma-sql', info.name);
          const pgErr = info.error as { code?: string; message?: string };
          file.error = { sqlstate: pgErr.code ?? f.sqlstate, message: pgErr.message ?? f.message, lockWaitMs };
          if (file.error.sqlstate === LOCK_TIMEOUT_SQLSTATE) {
            file.lockTimeout = await blockers.inspect(info.name, tablesNamedIn(info.sql, opts.tables), file.created);
          }
        }
        files.push(file);
      },
    };
    try {
      const result = await migrator.migrate(opts.url, hooks);
      return { files, warnings: result.warnings ?? [] };
    } catch (err) {
      const last = files.at(-1);
      // A refusal comes before its file starts: the next new migration is the one refused.
      const next = last?.error ? last.migration : opts.newMigrations[files.length]?.name;
      const failure = failureOf(err, last?.error?.lockWaitMs ?? 0, 'prisma-sql', next);
      if (last?.error && failure.statement) {
        last.error.statement = failure.statement;
        if (failure.line !== undefined) last.error.line = failure.line;
      }
      if (last?.lockTimeout) failure.lockTimeout = last.lockTimeout;
      return { files, failure, warnings: [] };
    }
  } finally {
    disposeMigrator();
    await probes?.close();
    await watcher.close();
    await blockers.close();
  }
}

async function lastStarted(url: string): Promise<string | undefined> {
  const c = new pg.Client({ ...pgConnectOptions(), connectionString: url });
  try {
    await c.connect();
    const r = await c.query<{ n: string }>(
      'SELECT migration_name AS n FROM _prisma_migrations WHERE finished_at IS NULL ORDER BY started_at DESC LIMIT 1',
    );
    return r.rows[0]?.n;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}
