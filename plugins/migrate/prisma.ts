/**
 * `prisma`: runs the project's own `prisma migrate deploy`. Prisma 7 facts this relies on
 * (prisma@7.10.1 build/cli.js):
 * - `migrate deploy` takes only `--schema` and `--config` (no `--url`); the URL must come from
 *   `datasource.url` in prisma.config.ts, so we set `DATABASE_URL` (or `urlEnv`) for the config to read.
 * - The CLI drives Prisma's native schema-engine binary, found at $PRISMA_SCHEMA_ENGINE_BINARY
 *   (deprecated: $PRISMA_MIGRATION_ENGINE_BINARY), resolved against the cwd, else
 *   `schema-engine-<binaryTarget>` in @prisma/engines/, prisma/, prisma/../ or prisma/runtime/.
 *   Without one it tries to download it. With a dummy such as /bin/true it exits 0 having applied
 *   nothing, so availability is checked by running `--version`, and after the run every local
 *   migration must be recorded as applied in `_prisma_migrations`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import pg from 'pg';
import { describeError, MigrationError, redactUrl } from '../core/errors.ts';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import { hashMigrations, readMigrationsFolder, resolveMigrationsDir } from './migrations-dir.ts';
import type { MigrateOptions, MigrateResult, Migrator } from './migrator.ts';

/** Options of the `prisma` migrator. */
export interface PrismaCliOptions {
  /** Project root: where the CLI runs and finds prisma.config.ts. Default `process.cwd()`. */
  cwd?: string;
  /** Passed as `--schema`. Default: Prisma's own lookup. */
  schema?: string;
  /** Passed as `--config`. Default: Prisma's own lookup (prisma.config.ts in `cwd`). */
  config?: string;
  /** Folder hashed and checked after the run. Default `prisma/migrations` (or beside `schema`); env `SHIPGATE_MIGRATIONS_DIR`. */
  migrationsDir?: string;
  /** Env var your prisma.config.ts reads the URL from (`datasource.url`). Default `DATABASE_URL`. */
  urlEnv?: string;
  /** Prisma CLI entry script. Default: `prisma/build/index.js` resolved from `cwd`. */
  cli?: string;
  /** Limit for the whole CLI run, in ms. Default 300000. */
  timeoutMs?: number;
}

/** Whether Prisma's schema engine can run here, and if not, why. */
export type EngineAvailability = { ok: true; path: string; version: string } | { ok: false; reason: string };

const ENGINE_ENV = ['PRISMA_SCHEMA_ENGINE_BINARY', 'PRISMA_MIGRATION_ENGINE_BINARY'] as const;
const availabilityCache = new Map<string, EngineAvailability>();

/**
 * Finds Prisma's schema-engine binary where Prisma 7 looks for it and proves it is one by running
 * `<binary> --version`, which a real engine answers with `schema-engine-cli <commit>`.
 */
export function prismaEngineAvailable(
  options: { cwd?: string; env?: NodeJS.ProcessEnv; cli?: string } = {},
): EngineAvailability {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const fromCli = options.cli ? path.dirname(path.dirname(path.resolve(cwd, options.cli))) : undefined;
  // Real path, so @prisma/engines resolves from pnpm's store layout beside prisma.
  const prismaDir = fromCli && existsSync(fromCli) ? realpathSync(fromCli) : resolvePrismaDir(cwd);
  const key = JSON.stringify([cwd, prismaDir, ENGINE_ENV.map((k) => env[k])]);
  let result = availabilityCache.get(key);
  if (!result) {
    result = findEngine(cwd, env, prismaDir);
    availabilityCache.set(key, result);
  }
  return result;
}

function findEngine(cwd: string, env: NodeJS.ProcessEnv, prismaDir: string | undefined): EngineAvailability {
  const envVar = ENGINE_ENV.find((k) => env[k]);
  if (envVar) {
    const bin = path.resolve(cwd, env[envVar] as string);
    if (!existsSync(bin)) return { ok: false, reason: `${envVar}=${env[envVar]} does not exist` };
    return checkEngine(bin, `${envVar}=${env[envVar]}`);
  }
  if (!prismaDir) return { ok: false, reason: `package "prisma" is not installed in ${cwd}` };
  let enginesDir: string | undefined;
  try {
    enginesDir = path.dirname(
      createRequire(path.join(prismaDir, 'package.json')).resolve('@prisma/engines/package.json'),
    );
  } catch {
    enginesDir = undefined;
  }
  const dirs = [enginesDir, prismaDir, path.dirname(prismaDir), path.join(prismaDir, 'runtime')].filter(
    (d): d is string => !!d,
  );
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const engine = names.find((n) => /^schema-engine-[a-z0-9.-]+$/i.test(n) && !/\.(gz|sha256|sig|js|wasm)$/.test(n));
    if (engine) return checkEngine(path.join(dir, engine), path.join(dir, engine));
  }
  return {
    ok: false,
    reason: `no schema-engine binary: PRISMA_SCHEMA_ENGINE_BINARY is unset and there is no schema-engine-<platform> in ${dirs.map((d) => shortPath(cwd, d)).join(', ')} (Prisma's postinstall download was skipped or blocked)`,
  };
}

/** `dir` relative to `cwd` when it is inside it, else absolute. */
function shortPath(cwd: string, dir: string): string {
  const rel = path.relative(cwd, dir);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
}

function checkEngine(bin: string, label: string): EngineAvailability {
  const run = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (run.error) return { ok: false, reason: `${label} cannot run: ${run.error.message}` };
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
  const m = /\bschema-engine(?:-cli)?\s+(\S+)/.exec(output);
  if (run.status !== 0 || !m) {
    const first = output.split('\n')[0]?.slice(0, 120);
    const shown = first ? `"${first}"` : 'nothing';
    return {
      ok: false,
      reason: `${label} is not a Prisma schema engine (\`--version\` exited ${run.status} and printed ${shown})`,
    };
  }
  return { ok: true, path: bin, version: m[1] as string };
}

function resolvePrismaDir(cwd: string): string | undefined {
  try {
    return path.dirname(createRequire(path.join(cwd, 'package.json')).resolve('prisma/package.json'));
  } catch {
    return undefined;
  }
}

/** Runs `prisma migrate deploy` from the project. */
export function prismaMigrator(options: PrismaCliOptions = {}, env: NodeJS.ProcessEnv = process.env): Migrator {
  const cwd = options.cwd ?? process.cwd();
  const dir = resolveMigrationsDir({ migrationsDir: options.migrationsDir, schemaPath: options.schema, cwd }, env);
  return {
    name: 'prisma',
    async hash() {
      return hashMigrations('prisma', { runner: 'prisma migrate deploy', version: 1 }, readMigrationsFolder(dir));
    },
    migrate(url, migrateOptions = {}) {
      return runPrismaDeploy(url, cwd, dir, options, migrateOptions);
    },
  };
}

async function runPrismaDeploy(
  url: string,
  cwd: string,
  dir: string,
  options: PrismaCliOptions,
  run: MigrateOptions,
): Promise<MigrateResult> {
  const t0 = performance.now();
  const engine = prismaEngineAvailable({ cwd, ...(options.cli ? { cli: options.cli } : {}) });
  if (!engine.ok) {
    throw new MigrationError(
      'SHIPGATE_PRISMA_ENGINE_MISSING',
      `Cannot run \`prisma migrate deploy\`: ${engine.reason}.`,
      {
        hint: 'Set PRISMA_SCHEMA_ENGINE_BINARY to a real schema-engine, or use the built-in runner: config key `migrator.kind` = "prisma-sql" (env SHIPGATE_MIGRATOR=prisma-sql).',
      },
    );
  }
  const cli = options.cli
    ? path.resolve(cwd, options.cli)
    : resolvePrismaDir(cwd) && path.join(resolvePrismaDir(cwd) as string, 'build', 'index.js');
  if (!cli || !existsSync(cli)) {
    throw new MigrationError(
      'SHIPGATE_PRISMA_CLI_MISSING',
      `Cannot find the Prisma CLI from ${cwd} (looked for ${cli ?? 'package prisma'}).`,
      {
        hint: "Install `prisma` in the project, or set the migrator's `cli` to its build/index.js.",
      },
    );
  }
  const local = readMigrationsFolder(dir).migrations;
  const before = await appliedNames(url);
  const args = ['migrate', 'deploy'];
  if (options.schema) args.push('--schema', options.schema);
  if (options.config) args.push('--config', options.config);
  const urlEnv = options.urlEnv ?? 'DATABASE_URL';
  const output = await execPrismaCli(cli, args, {
    cwd,
    env: { ...process.env, [urlEnv]: url },
    shownEnv: `${urlEnv}=${redactUrl(url)}`,
    signal: run.signal,
    timeoutMs: options.timeoutMs ?? 300_000,
    onProgress: run.onProgress,
  });
  const command = `${urlEnv}=${redactUrl(url)} prisma ${args.join(' ')}`;
  const after = await appliedNames(url);
  const missing = local.filter((m) => m.sql !== undefined && !after.has(m.name)).map((m) => m.name);
  if (missing.length > 0) {
    throw new MigrationError(
      'SHIPGATE_PRISMA_CLI_NO_EFFECT',
      `\`${command}\` exited 0, but ${missing.length} migration(s) are not recorded as applied in _prisma_migrations: ${missing.join(', ')}. Output:\n${tail(output)}`,
      {
        hint: 'Is PRISMA_SCHEMA_ENGINE_BINARY a real schema engine, and does prisma.config.ts read `datasource.url` from the `urlEnv` variable?',
      },
    );
  }
  const applied = local.filter((m) => after.has(m.name) && !before.has(m.name)).map((m) => m.name);
  return { applied, durationUs: Math.round((performance.now() - t0) * 1000) };
}

/** Names of finished, not rolled back migrations; empty when the history table does not exist. */
async function appliedNames(url: string): Promise<Set<string>> {
  const client = new pg.Client({ ...pgConnectOptions(), connectionString: url, application_name: 'shipgate:migrate' });
  client.on('error', () => {});
  try {
    await client.connect();
    const schema = new URL(url).searchParams.get('schema');
    if (schema) await client.query(`SET search_path = "${schema.replace(/"/g, '""')}"`);
    const exists = await client.query<{ t: string | null }>("SELECT to_regclass('_prisma_migrations')::text AS t");
    if (!exists.rows[0]?.t) return new Set();
    const rows = await client.query<{ migration_name: string }>(
      'SELECT "migration_name" FROM "_prisma_migrations" WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL',
    );
    return new Set(rows.rows.map((r) => r.migration_name));
  } catch (cause) {
    throw new MigrationError(
      'SHIPGATE_MIGRATION_CONNECT',
      `Cannot read _prisma_migrations at ${redactUrl(url)}: ${describeError(cause)}.`,
      {
        cause,
        hint: 'Check that the database exists and the server is reachable (env SHIPGATE_DATABASE_URL for an external server).',
      },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Runs the Prisma CLI (`node <cli> ...args`) and returns its output; a non-zero exit or a kill
 * becomes `SHIPGATE_PRISMA_CLI_FAILED` with the tail of stdout+stderr. Stdout lines also go to onProgress.
 */
export function execPrismaCli(
  cli: string,
  args: string[],
  opts: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    /** How the env part of the command is shown in errors (the URL redacted). */
    shownEnv?: string;
    signal?: AbortSignal | undefined;
    timeoutMs: number;
    onProgress?: ((message: string) => void) | undefined;
  },
): Promise<string> {
  const env = { ...opts.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', NO_COLOR: '1' };
  const shown = `${opts.shownEnv ? `${opts.shownEnv} ` : ''}prisma ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const chunks: string[] = [];
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: opts.cwd,
      env,
      signal: opts.signal,
      timeout: opts.timeoutMs,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let spawnError: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      chunks.push(d);
      for (const line of d.split('\n'))
        if (line.trim()) opts.onProgress?.(`prisma: ${stripVTControlCharacters(line.trim())}`);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      const output = stripVTControlCharacters(chunks.join(''));
      if (code === 0) return resolve(output);
      const how =
        code === null
          ? `was killed (${signal}${spawnError ? `: ${spawnError.message}` : ''})`
          : `exited with code ${code}`;
      reject(
        new MigrationError('SHIPGATE_PRISMA_CLI_FAILED', `\`${shown}\` (in ${opts.cwd}) ${how}:\n${tail(output)}\n`, {
          cause: spawnError,
          hint: 'Run the same command by hand for the full output.',
        }),
      );
    });
  });
}

/** The last 30 lines (at most 4000 characters) of CLI output, indented. */
function tail(output: string): string {
  const lines = output.trimEnd().split('\n').slice(-30).join('\n');
  return `  ${(lines.length > 4000 ? `…${lines.slice(-4000)}` : lines).replace(/\n/g, '\n  ')}`;
}
