import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.ts';
import { envValue } from './settings.ts';

/** Where the Postgres comes from (plugins/postgres/ implements each). */
export type ProviderName = 'testcontainers' | 'embedded' | 'external';

/** How tests are isolated from each other. */
export type Isolation = 'file' | 'test' | 'rollback';

/** Which migrator builds the template. */
export type MigratorConfig =
  | { kind: 'prisma-sql'; migrationsDir?: string }
  | { kind: 'prisma'; schema?: string; config?: string; migrationsDir?: string }
  | { kind: 'function'; module: string };

/** shipgate's options, as written in vitest.config.ts / playwright.config.ts. */
export interface ShipgateOptions {
  postgres?: {
    /** Default `auto`; env `SHIPGATE_PROVIDER`. */
    provider?: ProviderName | 'auto';
    /** Default `postgres:17-alpine`; env `SHIPGATE_PG_IMAGE`. */
    image?: string;
    /** Env `SHIPGATE_DATABASE_URL`. */
    adminUrl?: string;
    /** Default 200; env `SHIPGATE_PG_MAX_CONNECTIONS`. */
    maxConnections?: number;
    /** Embedded Postgres version (major or `major.minor`). Default: the major of the machine's pg_dump; env `SHIPGATE_PG_VERSION`. */
    version?: string;
    /** Default true. */
    tmpfs?: boolean;
    /** Default `shipgate`; env `SHIPGATE_DB_PREFIX`. */
    prefix?: string;
  };
  /** Default `{ kind: 'prisma-sql', migrationsDir: 'prisma/migrations' }`; env `SHIPGATE_MIGRATOR`, `SHIPGATE_MIGRATIONS_DIR`. */
  migrator?: MigratorConfig;
  /** Module `path#export` of `(url: string) => Promise<void>` run once into the template. */
  seed?: string;
  /** Default `file`; env `SHIPGATE_ISOLATION`. */
  isolation?: Isolation;
  /** pg pool size per test database. Default 5. */
  poolSize?: number;
  /** Module `path#export` of `(url, { pool }) => PrismaClient` for the `prisma` fixture. */
  prisma?: string;
  /** Module `path#export` of `({ prisma, db }) => app` for the `request` fixture. */
  app?: string;
  /** Keep a failed test's database and print its URL. Default false; env `SHIPGATE_KEEP_ON_FAILURE=1`. */
  keepOnFailure?: boolean;
}

/** Options after defaults, env vars and path resolution. */
export interface ResolvedOptions {
  root: string;
  postgres: NonNullable<ShipgateOptions['postgres']>;
  migrator: MigratorConfig;
  seed?: string;
  isolation: Isolation;
  poolSize: number;
  prisma?: string;
  app?: string;
  keepOnFailure: boolean;
}

const ISOLATIONS: readonly Isolation[] = ['file', 'test', 'rollback'];
const PROVIDERS = ['auto', 'testcontainers', 'embedded', 'external'];

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v);
}

/** Splits `path#export` (export defaults to `default`) and resolves the path against `root`. */
export function parseModuleRef(ref: string, root: string): { file: string; exportName: string } {
  const hash = ref.lastIndexOf('#');
  const file = hash > 0 ? ref.slice(0, hash) : ref;
  const exportName = hash > 0 ? ref.slice(hash + 1) : 'default';
  return { file: path.resolve(root, file), exportName };
}

/** Loads `path#export` and checks it is a function. */
export async function loadModuleFunction<F>(ref: string, root: string, key: string): Promise<F> {
  const { file, exportName } = parseModuleRef(ref, root);
  const mod = (await import(file)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw new ConfigError([`${key} "${ref}": export "${exportName}" of ${file} is ${typeof fn}, expected a function`]);
  }
  return fn as F;
}

/** Validates options, applies env vars and defaults; reports every problem at once. */

const TOP_KEYS = ['postgres', 'migrator', 'seed', 'isolation', 'poolSize', 'prisma', 'app', 'keepOnFailure'];
const POSTGRES_KEYS = ['provider', 'image', 'adminUrl', 'maxConnections', 'version', 'tmpfs', 'prefix'];
const MIGRATOR_KEYS: Record<string, string[]> = {
  'prisma-sql': ['kind', 'migrationsDir'],
  prisma: ['kind', 'schema', 'config', 'migrationsDir'],
  function: ['kind', 'module'],
};

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      );
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The closest of `known` to `key`, when it is close enough to be a typo. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(key, k);
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.k : undefined;
}

/** One problem per key of `value` that is not in `known`, with the closest known key. */
function unknownKeyProblems(value: unknown, known: readonly string[], where: string): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const near = didYouMean(k, known);
      return `${where}${k} is an unknown key${near ? `; did you mean ${where}${near}?` : ''} (known: ${known.join(', ')})`;
    });
}

/** Type problems of the scalar options: what was expected, what was seen. */
function typeProblems(options: ShipgateOptions): string[] {
  const problems: string[] = [];
  const want = (where: string, value: unknown, type: 'string' | 'boolean' | 'number') => {
    if (value !== undefined && typeof value !== type) {
      problems.push(`${where} is ${JSON.stringify(value)} (${typeof value}); expected a ${type}`);
    }
  };
  if (options.postgres !== undefined && (typeof options.postgres !== 'object' || options.postgres === null)) {
    problems.push(
      `postgres is ${JSON.stringify(options.postgres)}; expected an object such as { provider: 'embedded' }`,
    );
    return problems;
  }
  const pgo = options.postgres ?? {};
  for (const k of ['image', 'adminUrl', 'version', 'prefix'] as const) want(`postgres.${k}`, pgo[k], 'string');
  want('postgres.tmpfs', pgo.tmpfs, 'boolean');
  want('keepOnFailure', options.keepOnFailure, 'boolean');
  want('isolation', options.isolation, 'string');
  if (options.migrator !== undefined && (typeof options.migrator !== 'object' || options.migrator === null)) {
    problems.push(`migrator is ${JSON.stringify(options.migrator)}; expected an object such as { kind: 'prisma-sql' }`);
  }
  return problems;
}

export function resolveOptions(options: ShipgateOptions, root: string, env = process.env): ResolvedOptions {
  const problems: string[] = [
    ...unknownKeyProblems(options, TOP_KEYS, ''),
    ...unknownKeyProblems(options.postgres, POSTGRES_KEYS, 'postgres.'),
    ...typeProblems(options),
  ];
  if (problems.some((p) => p.startsWith('postgres is') || p.startsWith('migrator is'))) throw new ConfigError(problems);
  const pgOpts = { ...(options.postgres ?? {}) };
  // The one precedence (settings.ts): the env var over the config key. The provider's own
  // options (image, adminUrl, maxConnections, version, embeddedDir) get theirs in
  // resolveProviderOptions, where the provider is picked.
  const envPrefix = envValue('SHIPGATE_DB_PREFIX', env);
  if (envPrefix !== undefined) pgOpts.prefix = envPrefix;
  if (pgOpts.provider !== undefined && !PROVIDERS.includes(pgOpts.provider)) {
    problems.push(`postgres.provider is "${pgOpts.provider}"; expected one of ${PROVIDERS.join(', ')}`);
  }
  if (
    pgOpts.maxConnections !== undefined &&
    !(Number.isInteger(pgOpts.maxConnections) && pgOpts.maxConnections >= 10)
  ) {
    problems.push(`postgres.maxConnections is ${pgOpts.maxConnections}; expected an integer ≥ 10`);
  }
  const envMax = envValue('SHIPGATE_PG_MAX_CONNECTIONS', env);
  if (envMax !== undefined && !/^\d+$/.test(envMax)) {
    problems.push(`SHIPGATE_PG_MAX_CONNECTIONS is "${envMax}"; expected an integer`);
  }

  const isolation = (envValue('SHIPGATE_ISOLATION', env) ?? options.isolation ?? 'file') as Isolation;
  if (!ISOLATIONS.includes(isolation)) {
    problems.push(
      `${envValue('SHIPGATE_ISOLATION', env) ? 'SHIPGATE_ISOLATION' : 'isolation'} is "${isolation}"; expected one of ${ISOLATIONS.join(', ')}`,
    );
  }
  const poolSize = options.poolSize ?? 5;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 100) {
    problems.push(`poolSize is ${poolSize}; expected an integer from 1 to 100`);
  }

  let migrator: MigratorConfig = options.migrator ?? { kind: 'prisma-sql' };
  const envKind = envValue('SHIPGATE_MIGRATOR', env);
  if (envKind) {
    if (envKind === 'prisma-sql' || envKind === 'prisma') migrator = { ...migrator, kind: envKind } as MigratorConfig;
    else problems.push(`SHIPGATE_MIGRATOR is "${envKind}"; expected prisma-sql or prisma`);
  }
  const migratorKeys = MIGRATOR_KEYS[migrator.kind];
  if (migratorKeys) problems.push(...unknownKeyProblems(options.migrator, migratorKeys, 'migrator.'));
  if (migrator.kind === 'prisma-sql' || migrator.kind === 'prisma') {
    const dir = path.resolve(
      root,
      envValue('SHIPGATE_MIGRATIONS_DIR', env) ?? migrator.migrationsDir ?? 'prisma/migrations',
    );
    migrator = { ...migrator, migrationsDir: dir };
    if (!existsSync(dir)) {
      problems.push(
        `migrator.migrationsDir "${dir}" does not exist (set migrator.migrationsDir or SHIPGATE_MIGRATIONS_DIR)`,
      );
    }
  } else if (migrator.kind === 'function') {
    if (typeof migrator.module !== 'string') problems.push('migrator.module must be "path#export" for kind "function"');
  } else {
    problems.push(`migrator.kind is "${(migrator as { kind: string }).kind}"; expected prisma-sql, prisma or function`);
  }

  for (const key of ['seed', 'prisma', 'app'] as const) {
    const ref = options[key];
    if (ref === undefined) continue;
    if (typeof ref !== 'string') {
      problems.push(`${key} must be a module reference "path#export", got ${typeof ref}`);
      continue;
    }
    const { file } = parseModuleRef(ref, root);
    if (!existsSync(file)) problems.push(`${key} module "${file}" does not exist`);
  }

  if (problems.length) throw new ConfigError(problems);
  const resolveRef = (ref: string | undefined) => {
    if (!ref) return undefined;
    const { file, exportName } = parseModuleRef(ref, root);
    return `${file}#${exportName}`;
  };
  return {
    root,
    postgres: pgOpts,
    migrator,
    seed: resolveRef(options.seed),
    isolation,
    poolSize,
    prisma: resolveRef(options.prisma),
    app: resolveRef(options.app),
    keepOnFailure:
      envValue('SHIPGATE_KEEP_ON_FAILURE', env) !== undefined
        ? truthy(envValue('SHIPGATE_KEEP_ON_FAILURE', env))
        : !!options.keepOnFailure,
  };
}
