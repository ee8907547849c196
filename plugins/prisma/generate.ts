import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { ShipgateError } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';

/** `prisma generate` failed, or could not be run; the message has the schema path, prisma's stderr tail and the fix. */
export class PrismaGenerateError extends ShipgateError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super('SHIPGATE_PRISMA_GENERATE', message, options);
  }
}

export interface PrismaGenerateOptions {
  /** Path to `schema.prisma` (or a folder of `*.prisma` files), relative to `cwd`. */
  schema: string;
  /** Project root: where the `prisma` package is resolved and the CLI runs. Default `process.cwd()`. */
  cwd?: string;
  /**
   * Prisma config file passed as `--config`. Default: `prisma.config.ts` next to the schema's
   * folder (e.g. `example/prisma.config.ts` for `example/prisma/schema.prisma`), if present;
   * `false` passes none (prisma then looks in `cwd`).
   */
  config?: string | false;
  /** Regenerate even when the output is up to date. Default false; env `SHIPGATE_PRISMA_GENERATE_FORCE=1`. */
  force?: boolean;
  /** Kill prisma after this long. Default 120000 ms; env `SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS`. */
  timeoutMs?: number;
}

export interface PrismaGenerateResult {
  /** Wall time of the whole call in milliseconds (3 decimals), including the up-to-date check. */
  durationMs: number;
  /** Absolute path of the generated client folder (the first generator's `output`). */
  output: string;
  /** True when the output was up to date and prisma did not run. */
  skipped: boolean;
  /** Version of the `prisma` CLI that was (or would have been) used. */
  prismaVersion: string;
  /** How the schema engine path was settled for this run (see `schemaEngineEnv`). */
  engine: string;
}

/** Name of the stamp file written into each generator output folder. */
export const STAMP_FILE = '.shipgate-generate.json';
// Bump when the way the hash is computed changes, so old stamps stop matching.
const STAMP_FORMAT = 1;
const LOCK_STALE_MS = 5 * 60_000;

/**
 * Runs the project's own `prisma generate` for `schema`, unless every generator output already
 * carries a stamp with the same hash of the schema files and prisma version.
 * Throws PrismaGenerateError (code SHIPGATE_PRISMA_GENERATE).
 */
export async function prismaGenerate(options: PrismaGenerateOptions): Promise<PrismaGenerateResult> {
  const started = process.hrtime.bigint();
  const cwd = resolve(options.cwd ?? process.cwd());
  const schemaPath = resolve(cwd, options.schema);
  const shown = relative(process.cwd(), schemaPath) || schemaPath;
  const force = options.force ?? envValue('SHIPGATE_PRISMA_GENERATE_FORCE') === '1';
  const timeoutMs = options.timeoutMs ?? (Number(envValue('SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS')) || 120_000);

  const prisma = resolvePrisma(cwd, shown);
  const files = await readSchemaFiles(schemaPath, shown);
  const outputs = generatorOutputs(files, cwd);
  if (outputs.length === 0) {
    throw new PrismaGenerateError(
      `Schema "${shown}" has no generator with an \`output\` path, so shipgate cannot tell where the client goes.`,
      { hint: 'Add `output = "../src/generated/prisma"` to the `generator client` block.' },
    );
  }
  const output = outputs[0] as string;
  const hash = schemaHash(files, prisma.version);
  const config = options.config === false ? undefined : (options.config ?? defaultConfigFile(schemaPath));
  const done = (skipped: boolean, engine: string): PrismaGenerateResult => ({
    durationMs: Number((Number(process.hrtime.bigint() - started) / 1e6).toFixed(3)),
    output,
    skipped,
    prismaVersion: prisma.version,
    engine,
  });

  if (!force && (await allUpToDate(outputs, hash))) return done(true, 'not needed (up to date)');

  // Two test processes may generate at once; the second waits, then usually finds the stamp.
  const release = await lock(`${output}.shipgate-lock`, timeoutMs, shown);
  try {
    if (!force && (await allUpToDate(outputs, hash))) return done(true, 'not needed (up to date)');
    const engine = await schemaEngineEnv(prisma.dir, process.env);
    const args = [prisma.cli, 'generate', '--schema', schemaPath];
    if (config) args.push('--config', resolve(cwd, config));
    await run(args, {
      cwd,
      timeoutMs,
      env: {
        ...process.env,
        ...engine.env,
        // Update check and telemetry would each try the network, which may be unreachable.
        CHECKPOINT_DISABLE: process.env.CHECKPOINT_DISABLE ?? '1',
        PRISMA_HIDE_UPDATE_MESSAGE: process.env.PRISMA_HIDE_UPDATE_MESSAGE ?? '1',
        NO_COLOR: '1',
      },
      shown,
      engine: engine.reason,
    });
    const stamp = `${JSON.stringify({ format: STAMP_FORMAT, hash, prismaVersion: prisma.version, schema: shown }, null, 2)}\n`;
    for (const dir of outputs) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, STAMP_FILE), stamp);
    }
    return done(false, engine.reason);
  } finally {
    await release();
  }
}

/** The project's `prisma` package. */
export interface ResolvedPrisma {
  /** Absolute folder of the `prisma` package. */
  dir: string;
  /** Absolute path of its CLI entry (`build/index.js`). */
  cli: string;
  version: string;
}

/** Finds the `prisma` package installed for the project at `cwd`; throws PrismaGenerateError naming `shown` if missing. */
export function resolvePrisma(cwd: string, shown = cwd): ResolvedPrisma {
  let pkgJson: string;
  try {
    pkgJson = createRequire(join(cwd, 'package.json')).resolve('prisma/package.json');
  } catch (err) {
    throw new PrismaGenerateError(
      `Cannot generate the Prisma client for "${shown}": package "prisma" not found from "${cwd}".`,
      {
        cause: err,
        hint: 'Install it with `pnpm add -D prisma`, or pass the project root as `cwd`.',
      },
    );
  }
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string; bin?: Record<string, string> | string };
  const dir = dirname(pkgJson);
  const bin = typeof pkg.bin === 'string' ? pkg.bin : (pkg.bin?.prisma ?? 'build/index.js');
  return { dir, cli: join(dir, bin), version: pkg.version };
}

/** One schema file as read for hashing. */
export interface SchemaFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the schema argument, for the hash (stable across checkouts). */
  name: string;
  text: string;
}

async function readSchemaFiles(schemaPath: string, shown: string): Promise<SchemaFile[]> {
  let paths: string[];
  try {
    const info = await stat(schemaPath);
    paths = info.isDirectory()
      ? (await readdir(schemaPath, { recursive: true }))
          .filter((f) => f.endsWith('.prisma'))
          .sort()
          .map((f) => join(schemaPath, f))
      : [schemaPath];
  } catch (err) {
    throw new PrismaGenerateError(`Prisma schema "${shown}" not found.`, {
      cause: err,
      hint: 'Pass the path of schema.prisma relative to `cwd` (e.g. `prisma/schema.prisma`).',
    });
  }
  const root = paths.length === 1 && paths[0] === schemaPath ? dirname(schemaPath) : schemaPath;
  return Promise.all(
    paths.map(async (path) => ({ path, name: relative(root, path), text: await readFile(path, 'utf8') })),
  );
}

/**
 * Absolute `output` folders of every generator block, resolved against the file that declares
 * them. `prisma-client-js` without an `output` generates into `.prisma/client` next to the
 * `@prisma/client` package that the project at `cwd` resolves (Prisma's own default).
 */
export function generatorOutputs(files: readonly SchemaFile[], cwd?: string): string[] {
  const outputs: string[] = [];
  for (const file of files) {
    const text = file.text.replace(/(^|\s)\/\/.*$/gm, '$1');
    for (const block of text.matchAll(/^\s*generator\s+\w+\s*\{([^}]*)\}/gm)) {
      const body = block[1] ?? '';
      const out = /^\s*output\s*=\s*"([^"]+)"/m.exec(body);
      if (out?.[1]) outputs.push(resolve(dirname(file.path), out[1]));
      else if (cwd && /^\s*provider\s*=\s*"prisma-client-js"/m.test(body)) {
        const legacy = legacyClientOutput(cwd);
        if (legacy) outputs.push(legacy);
      }
    }
  }
  return outputs;
}

function legacyClientOutput(cwd: string): string | undefined {
  try {
    const pkg = realpathSync(createRequire(join(cwd, 'package.json')).resolve('@prisma/client/package.json'));
    return join(dirname(pkg), '..', '..', '.prisma', 'client');
  } catch {
    return undefined;
  }
}

function schemaHash(files: readonly SchemaFile[], prismaVersion: string): string {
  const h = createHash('sha256').update(`shipgate-generate:${STAMP_FORMAT}\0prisma@${prismaVersion}\0`);
  for (const f of files) h.update(`${f.name}\0${f.text}\0`);
  return h.digest('hex');
}

async function allUpToDate(outputs: readonly string[], hash: string): Promise<boolean> {
  for (const dir of outputs) {
    try {
      const stamp = JSON.parse(await readFile(join(dir, STAMP_FILE), 'utf8')) as { hash?: unknown };
      if (stamp.hash !== hash) return false;
      const entries = await readdir(dir);
      if (!entries.some((e) => /^(client\.(ts|mts|cts|js)|index\.js)$/.test(e))) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function defaultConfigFile(schemaPath: string): string | undefined {
  for (const dir of [dirname(schemaPath), dirname(dirname(schemaPath))]) {
    for (const name of ['prisma.config.ts', 'prisma.config.mts', 'prisma.config.js', 'prisma.config.mjs']) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** Extra environment for `prisma generate`, and why. */
export interface EngineEnv {
  env: Record<string, string>;
  reason: string;
}

/**
 * Settles the schema engine for `prisma generate`. Prisma 7's CLI insists, at startup, on a
 * schema-engine binary for this platform and downloads it from binaries.prisma.sh when it is
 * missing; Prisma has no env var that turns the download off (PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING
 * only skips the checksum file). `generate` itself never runs that binary: the client is built
 * by the bundled Wasm modules. Ordered strategies, first applicable wins:
 *   1. the user's PRISMA_SCHEMA_ENGINE_BINARY (or the deprecated PRISMA_MIGRATION_ENGINE_BINARY);
 *   2. the real engine where Prisma looks for it, at the version this CLI expects: nothing to set;
 *   3. otherwise point PRISMA_SCHEMA_ENGINE_BINARY at a harmless existing executable, for this
 *      generate step only, so no download is attempted. Migrations never run through it.
 */
export async function schemaEngineEnv(prismaDir: string, env: NodeJS.ProcessEnv): Promise<EngineEnv> {
  for (const name of ['PRISMA_SCHEMA_ENGINE_BINARY', 'PRISMA_MIGRATION_ENGINE_BINARY']) {
    if (env[name]) return { env: {}, reason: `${name}=${env[name]} (set by the user)` };
  }
  const installed = await findSchemaEngine(prismaDir, env);
  if (installed.ok) return { env: {}, reason: `installed schema engine ${installed.path}` };
  const stub = ['/usr/bin/true', '/bin/true'].find((p) => existsSync(p)) ?? process.execPath;
  return {
    env: { PRISMA_SCHEMA_ENGINE_BINARY: stub },
    reason: `PRISMA_SCHEMA_ENGINE_BINARY=${stub} (stand-in; ${installed.reason})`,
  };
}

/** Whether Prisma's real schema engine is installed, and if not, why. */
export type InstalledEngine = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Finds Prisma's real schema engine the way Prisma's CLI does: <@prisma/engines>/schema-engine-
 * <binaryTarget> must exist for every target (env PRISMA_CLI_BINARY_TARGETS, default the native
 * one) and report the expected engines commit in `--version`, or Prisma would try to download
 * it. Migrate commands (deploy, diff) need it: with a stand-in binary `prisma migrate diff
 * --exit-code` can print nothing and exit 0, which a drift check must not mistake for "no drift".
 */
export async function findSchemaEngine(
  prismaDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<InstalledEngine> {
  try {
    const fromPrisma = createRequire(join(prismaDir, 'package.json'));
    const enginesPkg = fromPrisma.resolve('@prisma/engines/package.json');
    const fromEngines = createRequire(enginesPkg);
    const { enginesVersion } = fromEngines('@prisma/engines-version') as { enginesVersion: string };
    const targets = env.PRISMA_CLI_BINARY_TARGETS
      ? env.PRISMA_CLI_BINARY_TARGETS.split(',').map((t) => t.trim())
      : [
          await (
            fromEngines('@prisma/get-platform') as { getBinaryTargetForCurrentPlatform(): Promise<string> }
          ).getBinaryTargetForCurrentPlatform(),
        ];
    let first = '';
    for (const target of targets) {
      const path = join(dirname(enginesPkg), `schema-engine-${target}${target === 'windows' ? '.exe' : ''}`);
      if (!existsSync(path)) return { ok: false, reason: `no schema engine at ${path}` };
      const version = await execVersion(path);
      if (!version.includes(enginesVersion)) {
        return { ok: false, reason: `${path} reports "${version.trim()}", expected ${enginesVersion}` };
      }
      first ||= path;
    }
    return { ok: true, path: first };
  } catch (err) {
    return {
      ok: false,
      reason: `could not locate the schema engine: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function execVersion(path: string): Promise<string> {
  return new Promise((res) => {
    execFile(path, ['--version'], { timeout: 10_000 }, (err, stdout) => res(err ? '' : String(stdout)));
  });
}

async function run(
  args: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; shown: string; engine: string },
): Promise<void> {
  const result = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (res) => {
      execFile(
        process.execPath,
        args,
        { cwd: o.cwd, env: o.env, timeout: o.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
          res({
            code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
            signal: e?.signal ?? null,
            stdout: String(stdout),
            stderr: String(stderr),
          });
        },
      );
    },
  );
  if (result.code === 0) return;
  const how = result.signal
    ? `was killed (${result.signal}, timeout ${o.timeoutMs} ms)`
    : `exited with code ${result.code}`;
  const tail = lastLines(result.stderr.trim() || result.stdout.trim(), 25);
  const download = /binaries\.prisma\.sh|ENGINES_MIRROR|download/i.test(tail);
  const repro = `npx prisma ${args.slice(1).join(' ')}`;
  const hint = download
    ? `Prisma tried to download an engine (${o.engine}): set PRISMA_SCHEMA_ENGINE_BINARY to any existing executable; generate does not run it.`
    : result.signal
      ? `Raise SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS, or run \`DEBUG=prisma* ${repro}\` in ${o.cwd} to see where it hangs.`
      : `Fix the problem above and retry; reproduce with \`${repro}\` in ${o.cwd}.`;
  throw new PrismaGenerateError(`prisma generate for schema "${o.shown}" ${how}:\n${indent(tail || '(no output)')}\n`, {
    hint,
  });
}

function lastLines(text: string, n: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  const lines = text.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  return lines.slice(-n).join('\n').slice(-4000);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

// A directory as a cross-process mutex: mkdir is atomic. A lock older than LOCK_STALE_MS is
// left over from a crashed run and is taken over.
async function lock(path: string, timeoutMs: number, shown: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      await mkdir(path);
      return () => rmdir(path).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) {
        await rmdir(path).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) {
        throw new PrismaGenerateError(
          `Timed out after ${timeoutMs} ms waiting for another prisma generate of "${shown}" (lock ${path}).`,
          { hint: `If no other run is active, delete ${path}.` },
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
