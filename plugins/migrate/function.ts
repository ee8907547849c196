/**
 * `function`: the project migrates with its own code (Drizzle, Kysely, a SQL runner…). shipgate
 * needs two things from it, as pgtestdb does: a digest that changes when the schema would, and a
 * function that applies it to a database URL.
 */
import { createHash } from 'node:crypto';
import { ConfigError, describeError, MigrationError, ShipgateError } from '../core/errors.ts';
import type { MigrateOptions, Migrator } from './migrator.ts';

/** Options of the `function` migrator. */
export interface FunctionMigratorOptions {
  /** Name shown in progress lines and part of the hash. Default `function`. */
  name?: string;
  /**
   * What identifies the schema the function produces: a version string, a digest of your
   * migration files, or a function returning one. Required; shipgate hashes it with `name`.
   */
  hash: string | (() => string | Promise<string>);
  /** Applies the schema to the database at `url`; may return the names of what it applied. */
  migrate: (url: string, options: MigrateOptions) => Promise<unknown>;
}

/** Wraps a user function as a migrator; options are validated up front, all problems at once. */
export function functionMigrator(options: FunctionMigratorOptions): Migrator {
  const problems: string[] = [];
  const o = (options ?? {}) as Partial<FunctionMigratorOptions>;
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.trim() === '')) {
    problems.push(`migrator.name is ${JSON.stringify(o.name)}; expected a non-empty string`);
  }
  if (!(typeof o.hash === 'function' || (typeof o.hash === 'string' && o.hash !== ''))) {
    problems.push(
      `migrator.hash is ${o.hash === '' ? '""' : typeof o.hash}; expected a non-empty string or a function returning one`,
    );
  }
  if (typeof o.migrate !== 'function')
    problems.push(`migrator.migrate is ${typeof o.migrate}; expected (url) => Promise<void>`);
  if (problems.length > 0) throw new ConfigError(problems);
  const { hash, migrate } = options;
  const name = options.name ?? 'function';

  return {
    name,
    async hash() {
      let key: unknown;
      try {
        key = typeof hash === 'function' ? await hash() : hash;
      } catch (cause) {
        throw new MigrationError(
          'SHIPGATE_MIGRATION_HASH_FAILED',
          `Migrator "${name}": hash() threw: ${describeError(cause)}.`,
          {
            cause,
            hint: 'Fix the `hash` function given to functionMigrator().',
          },
        );
      }
      if (typeof key !== 'string' || key === '') {
        throw new MigrationError(
          'SHIPGATE_MIGRATION_HASH_FAILED',
          `Migrator "${name}": hash() returned ${JSON.stringify(key)}; expected a non-empty string.`,
          {
            hint: 'Return a version string or a digest of your migrations from `hash`.',
          },
        );
      }
      return createHash('sha256').update(`function\n${name}\n${key}`).digest('hex');
    },
    async migrate(url, migrateOptions = {}) {
      const t0 = performance.now();
      let applied: unknown;
      try {
        applied = await migrate(url, migrateOptions);
      } catch (cause) {
        if (cause instanceof ShipgateError) throw cause;
        throw new MigrationError('SHIPGATE_MIGRATION_FAILED', `Migrator "${name}" failed: ${describeError(cause)}.`, {
          cause,
          hint: 'The error comes from your migrate function; its stack is in `cause`.',
        });
      }
      return {
        applied: Array.isArray(applied) ? applied.map(String) : [],
        durationUs: Math.round((performance.now() - t0) * 1000),
      };
    },
  };
}
