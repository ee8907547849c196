/** Migrators: build a database's schema from a project's migrations. Pick one with `createMigrator`. */
import { ConfigError } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';
import { type FunctionMigratorOptions, functionMigrator as makeFunctionMigrator } from './function.ts';
import type { Migrator } from './migrator.ts';
import { prismaMigrator as makePrismaMigrator, type PrismaCliOptions } from './prisma.ts';
import { prismaSqlMigrator as makePrismaSqlMigrator, type PrismaSqlOptions } from './prisma-sql.ts';

/** `FunctionMigratorOptions`: your own `hash` and `migrate(url)`; `name` default `function`; no env vars. */
export type { FunctionMigratorOptions } from './function.ts';
/** `MigrationFailedError` (code `SHIPGATE_MIGRATION_FAILED`): `.migration`, `.file`, `.location` (statement, line), `.postgres`. */
export { MigrationFailedError } from './migration-failure.ts';
/** Default migrations folder, `prisma/migrations`; env `SHIPGATE_MIGRATIONS_DIR` overrides it. */
export { DEFAULT_MIGRATIONS_DIR } from './migrations-dir.ts';
/** The migrator interface: `hash()` and `migrate(url, options)` with per-file hooks `onFileStart`/`onFileEnd`. */
export type {
  MigrateOptions,
  MigrateResult,
  MigrationFileInfo,
  MigrationFileResult,
  Migrator,
  ProgressFn,
} from './migrator.ts';
/** `PrismaCliOptions`: `cwd` default `process.cwd()`, `urlEnv` default `DATABASE_URL`, `migrationsDir` env `SHIPGATE_MIGRATIONS_DIR`. */
export type { EngineAvailability, PrismaCliOptions } from './prisma.ts';
/** `prismaEngineAvailable({ cwd?, env?, cli? })`: can Prisma's schema engine run; honours `PRISMA_SCHEMA_ENGINE_BINARY`. */
export { prismaEngineAvailable } from './prisma.ts';
/** Prisma's advisory lock key for Migrate on Postgres (72707369) and its `_prisma_migrations` DDL; no env vars. */
export { PRISMA_ADVISORY_LOCK_KEY, PRISMA_MIGRATIONS_DDL } from './prisma-history.ts';
/** `PrismaSqlOptions`: `migrationsDir` default `prisma/migrations` (env `SHIPGATE_MIGRATIONS_DIR`), `lockTimeoutMs` default 10000. */
export type { PrismaSqlMigrator, PrismaSqlOptions } from './prisma-sql.ts';
/** Splits SQL into statements as psql does (quotes, dollar quotes, comments, BEGIN ATOMIC); no options. */
export { splitSqlStatements } from './sql-split.ts';

/** `functionMigrator({ name?, hash, migrate })`: wraps your own migration code; `name` default `function`; no env vars. */
export const functionMigrator = makeFunctionMigrator;
/** `prismaMigrator(options)`: runs the project's `prisma migrate deploy` with the URL in `DATABASE_URL` (option `urlEnv`). */
export const prismaMigrator = makePrismaMigrator;
/** `prismaSqlMigrator(options)`: applies migration.sql files with Prisma's semantics; dir default `prisma/migrations`, env `SHIPGATE_MIGRATIONS_DIR`. */
export const prismaSqlMigrator = makePrismaSqlMigrator;

/** Names of the built-in migrators. */
export type MigratorKind = 'prisma-sql' | 'prisma' | 'function';

/** Which migrator to build, with its options. `kind` default `prisma-sql`; env `SHIPGATE_MIGRATOR` overrides it. */
export type MigratorConfig =
  | ({ kind?: 'prisma-sql' } & PrismaSqlOptions)
  | ({ kind: 'prisma' } & PrismaCliOptions)
  | ({ kind: 'function' } & FunctionMigratorOptions);

const KINDS: readonly MigratorKind[] = ['prisma-sql', 'prisma', 'function'];

/** Builds the migrator `config.kind` names (default `prisma-sql`; env `SHIPGATE_MIGRATOR` overrides it). */
export function createMigrator(config: MigratorConfig = {}, env: NodeJS.ProcessEnv = process.env): Migrator {
  const kind = (envValue('SHIPGATE_MIGRATOR', env) || config.kind || 'prisma-sql') as MigratorKind;
  if (!KINDS.includes(kind)) {
    const source = envValue('SHIPGATE_MIGRATOR', env) ? 'env SHIPGATE_MIGRATOR' : 'migrator.kind';
    throw new ConfigError([`${source} is "${kind}"; expected one of ${KINDS.join(', ')}`]);
  }
  if (kind === 'function') {
    if (config.kind !== 'function') {
      throw new ConfigError([
        'env SHIPGATE_MIGRATOR is "function", but kind "function" needs `hash` and `migrate` in the config',
      ]);
    }
    return makeFunctionMigrator(config);
  }
  // When env switches the kind, the Prisma schema path carries over under either option name.
  const { kind: _kind, ...options } = config as { kind?: string } & PrismaSqlOptions & PrismaCliOptions;
  const schema = options.schema ?? options.schemaPath;
  return kind === 'prisma'
    ? makePrismaMigrator({ ...options, schema }, env)
    : makePrismaSqlMigrator({ ...options, schemaPath: schema }, env);
}
