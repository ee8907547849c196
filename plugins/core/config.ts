import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, describeError, redactUrl } from './errors.ts';
import { envValue, type SettingName } from './settings.ts';

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
    /** Parent of embedded data dirs. Default `/dev/shm` when it has room, else the OS temp dir; env `SHIPGATE_EMBEDDED_DIR`. */
    embeddedDir?: string;
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
  /** Query capture and the N+1 check on `request` calls. */
  queries?: {
    /** Read statements on the wire. Default true; env `SHIPGATE_QUERY_CAPTURE`. */
    capture?: boolean;
    /** Check every `request` call for repeated query shapes: `ci` (default: when `CI` is set), true or false; env `SHIPGATE_QUERY_CHECK`. */
    check?: boolean | 'ci';
    /** Shapes allowed to repeat everywhere: substrings, or `/re/flags` strings. */
    allow?: string[];
  };
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
  queries: { capture: boolean; check: boolean; allow: string[] };
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

/**
 * A ConfigError that prints as its message: Vitest prints a startup error with `console.error`,
 * which would otherwise dump the object (code, hint, problems) and its stack frames.
 */
export function configError(problems: readonly string[], options: { cause?: unknown } = {}): ConfigError {
  const err = new ConfigError(problems, options);
  Object.defineProperty(err, inspect.custom, { value: () => `${err.name} [${err.code}]: ${err.message}` });
  return err;
}

/** The function `ref` (config key `key`) names, or why it is not one: the file, the export seen, the exports it has. */
async function moduleRef(ref: string, root: string, key: string): Promise<{ fn: unknown } | { problem: string }> {
  const { file, exportName } = parseModuleRef(ref, root);
  if (!existsSync(file))
    return { problem: `${key} module "${file}" does not exist (fix the path in config key ${key})` };
  let mod: Record<string, unknown>;
  try {
    mod = (await import(file)) as Record<string, unknown>;
  } catch (err) {
    const why = describeError(err).split('\n')[0];
    return { problem: `${key} module "${file}" failed to load: ${why} (fix the module or config key ${key})` };
  }
  const fn = mod[exportName];
  if (typeof fn === 'function') return { fn };
  const exports = Object.keys(mod)
    .filter((k) => typeof mod[k] === 'function')
    .sort();
  const has = exports.length ? `its function exports: ${exports.join(', ')}` : 'it exports no function';
  const near = didYouMean(exportName, exports);
  const seen = fn === undefined ? `has no export "${exportName}"` : `exports "${exportName}" as a ${typeof fn}`;
  return {
    problem: `${key} "${ref}": module "${file}" ${seen}, expected a function (${has})${near ? `; did you mean "#${near}"?` : ''} (fix config key ${key})`,
  };
}

/** Loads `path#export` and checks it is a function; the ConfigError names the key, the file and its exports. */
export async function loadModuleFunction<F>(ref: string, root: string, key: string): Promise<F> {
  const found = await moduleRef(ref, root, key);
  if ('problem' in found) throw configError([found.problem]);
  return found.fn as F;
}

/**
 * Loads every module reference of `options` (`seed`, `prisma`, `app`, `migrator.module`) and
 * checks that it exports a function under its name, so a typo is reported before a server
 * starts instead of when the first test asks for the fixture. One ConfigError lists them all.
 */
export async function checkModuleRefs(options: ResolvedOptions): Promise<void> {
  const refs: [string, string | undefined][] = [
    ['seed', options.seed],
    ['prisma', options.prisma],
    ['app', options.app],
    ['migrator.module', options.migrator.kind === 'function' ? options.migrator.module : undefined],
  ];
  const problems: string[] = [];
  for (const [key, ref] of refs) {
    if (typeof ref !== 'string') continue;
    const found = await moduleRef(ref, options.root, key);
    if ('problem' in found) problems.push(found.problem);
  }
  if (problems.length) throw configError(problems);
}

/** A whole number from `min` to `max` in env var `name`, or a problem naming it; undefined when unset. */
function intSetting(
  name: SettingName,
  env: NodeJS.ProcessEnv,
  min: number,
  max: number,
  problems: string[],
): number | undefined {
  const text = envValue(name, env);
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`${name} is "${text}"; expected a whole number from ${min} to ${max}`);
    return undefined;
  }
  return n;
}

/** Default age after which a dead run's embedded data dir is swept: 10 minutes. */
export const DEFAULT_EMBEDDED_SWEEP_AFTER_MINUTES = 10;

/**
 * How old a dead run's embedded data dir must be before it is swept, in ms:
 * `SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES`, default 10. A bad value is a ConfigError naming it.
 */
export function embeddedSweepAfterMs(env: NodeJS.ProcessEnv = process.env): number {
  const problems: string[] = [];
  const minutes = intSetting('SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES', env, 0, 525_600, problems);
  if (problems.length) throw configError(problems);
  return (minutes ?? DEFAULT_EMBEDDED_SWEEP_AFTER_MINUTES) * 60_000;
}

const TOP_KEYS = ['postgres', 'migrator', 'seed', 'isolation', 'poolSize', 'prisma', 'app', 'keepOnFailure', 'queries'];
const QUERIES_KEYS = ['capture', 'check', 'allow'];
const POSTGRES_KEYS = ['provider', 'image', 'adminUrl', 'maxConnections', 'version', 'tmpfs', 'prefix', 'embeddedDir'];
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
  for (const k of ['image', 'adminUrl', 'version', 'prefix', 'embeddedDir'] as const)
    want(`postgres.${k}`, pgo[k], 'string');
  want('postgres.tmpfs', pgo.tmpfs, 'boolean');
  want('keepOnFailure', options.keepOnFailure, 'boolean');
  want('isolation', options.isolation, 'string');
  if (options.migrator !== undefined && (typeof options.migrator !== 'object' || options.migrator === null)) {
    problems.push(`migrator is ${JSON.stringify(options.migrator)}; expected an object such as { kind: 'prisma-sql' }`);
  }
  return problems;
}

const PREFIX = /^[a-z][a-z0-9]{0,15}$/;
const FLAG = /^(1|0|true|false|yes|no|on|off)$/i;

/**
 * Problems of the env vars the session reads later (provider, admin URL, prefix, limits): checked
 * here so that a bad value is named before any server starts, with the other problems.
 */
function envProblems(pgOpts: NonNullable<ShipgateOptions['postgres']>, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const provider = envValue('SHIPGATE_PROVIDER', env);
  if (provider !== undefined && !PROVIDERS.includes(provider)) {
    const near = didYouMean(provider, PROVIDERS);
    problems.push(
      `SHIPGATE_PROVIDER is "${provider}"; expected one of ${PROVIDERS.join(', ')}${near ? ` (did you mean ${near}?)` : ''}`,
    );
  }
  const envUrl = envValue('SHIPGATE_DATABASE_URL', env);
  const url = envUrl ?? (typeof pgOpts.adminUrl === 'string' ? pgOpts.adminUrl : undefined);
  if (url !== undefined) {
    const source = envUrl !== undefined ? 'SHIPGATE_DATABASE_URL' : 'postgres.adminUrl';
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {
      problems.push(
        `${source} is not a URL: "${redactUrl(url)}"; expected postgres://user:password@host:5432/postgres`,
      );
    }
    if (protocol !== undefined && protocol !== 'postgres:' && protocol !== 'postgresql:') {
      problems.push(
        `${source} "${redactUrl(url)}" has protocol "${protocol}"; expected postgres: or postgresql: (postgres://user:password@host:5432/postgres)`,
      );
    }
  }
  if (typeof pgOpts.prefix === 'string' && !PREFIX.test(pgOpts.prefix)) {
    const source = envValue('SHIPGATE_DB_PREFIX', env) !== undefined ? 'SHIPGATE_DB_PREFIX' : 'postgres.prefix';
    problems.push(
      `${source} is "${pgOpts.prefix}"; expected a lowercase letter and up to 15 lowercase letters or digits ([a-z][a-z0-9]{0,15})`,
    );
  }
  intSetting('SHIPGATE_PG_MAX_CONNECTIONS', env, 10, 10_000, problems);
  intSetting('SHIPGATE_KEEP_TEMPLATES', env, 0, 1_000, problems);
  intSetting('SHIPGATE_PG_TIMEOUT_MS', env, 100, 3_600_000, problems);
  intSetting('SHIPGATE_SWEEP_KEPT_AFTER_HOURS', env, 0, 87_600, problems);
  intSetting('SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES', env, 0, 525_600, problems);
  const embeddedDir = envValue('SHIPGATE_EMBEDDED_DIR', env) ?? pgOpts.embeddedDir;
  if (typeof embeddedDir === 'string' && !isDirectory(embeddedDir)) {
    const source =
      envValue('SHIPGATE_EMBEDDED_DIR', env) !== undefined ? 'SHIPGATE_EMBEDDED_DIR' : 'postgres.embeddedDir';
    problems.push(`${source} "${path.resolve(embeddedDir)}" is not a directory; create it or point ${source} at one`);
  }
  const shard = envValue('SHIPGATE_SHARD', env);
  const m = shard === undefined ? null : /^(\d+)\/(\d+)$/.exec(shard.trim());
  if (shard !== undefined && !(m && Number(m[1]) >= 1 && Number(m[1]) <= Number(m[2]))) {
    problems.push(`SHIPGATE_SHARD is "${shard}"; expected i/n with 1 <= i <= n, e.g. 2/4 (this process's CI shard)`);
  }
  const keep = envValue('SHIPGATE_KEEP_ON_FAILURE', env);
  if (keep !== undefined && !FLAG.test(keep)) {
    problems.push(`SHIPGATE_KEEP_ON_FAILURE is "${keep}"; expected 1 or 0 (also true/false, yes/no, on/off)`);
  }
  return problems;
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Validates options, applies env vars and defaults; reports every problem at once. */
export function resolveOptions(options: ShipgateOptions, root: string, env = process.env): ResolvedOptions {
  const problems: string[] = [
    ...unknownKeyProblems(options, TOP_KEYS, ''),
    ...unknownKeyProblems(options.postgres, POSTGRES_KEYS, 'postgres.'),
    ...unknownKeyProblems(options.queries, QUERIES_KEYS, 'queries.'),
    ...typeProblems(options),
  ];
  if (problems.some((p) => p.startsWith('postgres is') || p.startsWith('migrator is'))) throw configError(problems);
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
  problems.push(...envProblems(pgOpts, env));

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
    if (!existsSync(file)) problems.push(`${key} module "${file}" does not exist (fix the path in config key ${key})`);
  }
  if (migrator.kind === 'function' && typeof migrator.module === 'string') {
    const { file } = parseModuleRef(migrator.module, root);
    if (!existsSync(file)) {
      problems.push(`migrator.module "${file}" does not exist (fix the path in config key migrator.module)`);
    }
  }

  const queries = resolveQueries(options.queries, env, problems);

  if (problems.length) throw configError(problems);
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
    queries,
  };
}

/** `queries` after env vars: capture on by default, the check on in CI (`CI` set) by default. */
function resolveQueries(
  q: ShipgateOptions['queries'],
  env: NodeJS.ProcessEnv,
  problems: string[],
): ResolvedOptions['queries'] {
  const out = { capture: true, check: false, allow: [] as string[] };
  if (q !== undefined && (typeof q !== 'object' || q === null || Array.isArray(q))) {
    problems.push(`queries is ${JSON.stringify(q)}; expected an object such as { check: 'ci' }`);
    return out;
  }
  const capture = envValue('SHIPGATE_QUERY_CAPTURE', env);
  if (capture !== undefined && !FLAG.test(capture)) {
    problems.push(`SHIPGATE_QUERY_CAPTURE is "${capture}"; expected 1 or 0 (on/off)`);
  } else if (capture !== undefined) out.capture = truthy(capture);
  else if (q?.capture !== undefined) {
    if (typeof q.capture === 'boolean') out.capture = q.capture;
    else problems.push(`queries.capture is ${JSON.stringify(q.capture)}; expected true or false`);
  }
  const envCheck = envValue('SHIPGATE_QUERY_CHECK', env);
  const check = envCheck ?? q?.check ?? 'ci';
  const where = envCheck !== undefined ? 'SHIPGATE_QUERY_CHECK' : 'queries.check';
  if (check === 'ci') out.check = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  else if (typeof check === 'boolean') out.check = check;
  else if (typeof check === 'string' && FLAG.test(check)) out.check = truthy(check);
  else problems.push(`${where} is ${JSON.stringify(check)}; expected on, off or ci`);
  // `ci` is a default, not a request: with capture off it means no check. Asked for by name
  // (on, true, 1), the check needs capture.
  const asked = check !== 'ci';
  if (out.check && !out.capture && !asked) out.check = false;
  if (out.check && !out.capture) {
    problems.push(
      `${where} turns the query check on, but ${capture !== undefined ? 'SHIPGATE_QUERY_CAPTURE' : 'queries.capture'} turns capture off; the check needs capture`,
    );
  }
  if (q?.allow !== undefined) {
    if (!Array.isArray(q.allow) || q.allow.some((a) => typeof a !== 'string' || a === '')) {
      problems.push(
        `queries.allow is ${JSON.stringify(q.allow)}; expected an array of shape substrings or "/re/flags" strings`,
      );
    } else {
      for (const a of q.allow) {
        const re = /^\/(.+)\/([a-z]*)$/.exec(a);
        if (!re) continue;
        try {
          new RegExp(re[1] as string, re[2]);
        } catch (err) {
          problems.push(`queries.allow entry "${a}" is not a valid regular expression (${(err as Error).message})`);
        }
      }
      out.allow = q.allow;
    }
  }
  return out;
}
