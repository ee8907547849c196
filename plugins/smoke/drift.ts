/**
 * Drift between schema.prisma and the migrated database, computed by Prisma's own schema
 * engine: `prisma migrate diff --from-config-datasource --to-schema … --exit-code` where the
 * native engine runs, otherwise the same `diff` call on the engine's WebAssembly build
 * (`@prisma/schema-engine-wasm`) through `@prisma/adapter-pg`.
 *
 * One shim: adapter-pg 7.10 has no column type for Postgres' one-byte `"char"` (OID 18),
 * which the engine's describer reads from pg_constraint/pg_class and wants as a Character.
 * The shim reports those columns as Text to the adapter and Character to the engine; the
 * values themselves are untouched.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeError } from '../core/errors.ts';
import { installCommand } from '../core/optional.ts';
import { execPrismaCli, prismaEngineAvailable } from '../migrate/prisma.ts';

/** Outcome: the engine's exit code (0 same, 2 differs) and its SQL to close the gap, or why it could not run. */
export type DriftResult = { ok: true; via: string; differs: boolean; script: string } | { ok: false; reason: string };

const CHAR_OID = 18;
const TEXT_OID = 25;
const CHARACTER_COLUMN = 6; // ColumnTypeEnum.Character in @prisma/driver-adapter-utils

/** Reads a schema file, or every .prisma file of a schema folder. */
export function readSchemaFiles(schema: string): { path: string; content: string }[] {
  if (statSync(schema).isDirectory()) {
    return readdirSync(schema, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.prisma'))
      .sort()
      .map((f) => ({ path: path.join(schema, f), content: readFileSync(path.join(schema, f), 'utf8') }));
  }
  return [{ path: schema, content: readFileSync(schema, 'utf8') }];
}

type Queryable = {
  performIO(q: unknown): Promise<{ fields: { dataTypeID: number }[] }>;
  queryRaw(q: unknown): Promise<{ columnTypes: number[] }>;
  startTransaction?(...a: unknown[]): Promise<unknown>;
};

/** Wraps an adapter so `"char"` columns reach the engine as Character (see the file comment). */
function withCharColumns<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, prop) {
      const q = t as unknown as Queryable;
      if (prop === 'queryRaw') {
        return async (query: unknown) => {
          const charColumns: number[] = [];
          const shim = Object.create(t) as Queryable;
          shim.performIO = async (x: unknown) => {
            const r = await q.performIO(x);
            r.fields.forEach((f, i) => {
              if (f.dataTypeID === CHAR_OID) {
                charColumns.push(i);
                f.dataTypeID = TEXT_OID;
              }
            });
            return r;
          };
          const res = await q.queryRaw.call(shim, query);
          for (const i of charColumns) res.columnTypes[i] = CHARACTER_COLUMN;
          return res;
        };
      }
      if (prop === 'startTransaction' && q.startTransaction) {
        return async (...a: unknown[]) => withCharColumns((await q.startTransaction?.(...a)) as object);
      }
      const v = Reflect.get(t, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

interface WasmEngine {
  diff(p: object): Promise<{ exitCode: number; stdout: string | null }>;
  free(): void;
}

async function viaWasm(
  url: string,
  files: { path: string; content: string }[],
  configDir: string,
): Promise<DriftResult> {
  const req = createRequire(import.meta.url);
  let mod: { SchemaEngine: { new: (o: object, log: (m: string) => void, adapter: object) => Promise<WasmEngine> } };
  let PrismaPg: new (
    o: object,
  ) => { connect(): Promise<object>; connectToShadowDb(): Promise<object>; provider: string; adapterName: string };
  let bind: (f: object) => object;
  try {
    mod = (await import('@prisma/schema-engine-wasm' as string)) as typeof mod;
    PrismaPg = (await import('@prisma/adapter-pg')).PrismaPg as unknown as typeof PrismaPg;
    const utils = req.resolve('@prisma/driver-adapter-utils', {
      paths: [path.dirname(req.resolve('@prisma/adapter-pg'))],
    });
    bind = (await import(pathToFileURL(utils).href)).bindMigrationAwareSqlAdapterFactory;
  } catch (err) {
    return {
      ok: false,
      reason: `Prisma's wasm schema engine is not installed (@prisma/schema-engine-wasm, @prisma/adapter-pg): ${describeError(err)}; the drift check needs it: install it with \`${installCommand(['@prisma/schema-engine-wasm', '@prisma/adapter-pg'])}\``,
    };
  }
  const panics: string[] = [];
  const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void } };
  g.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (m: string) => panics.push(m) };
  const base = new PrismaPg({ connectionString: url, max: 2 });
  const adapters: { dispose?: () => Promise<void> }[] = [];
  const track = async (p: Promise<object>) => {
    const a = withCharColumns(await p);
    adapters.push(a as { dispose?: () => Promise<void> });
    return a;
  };
  const factory = bind({
    provider: base.provider,
    adapterName: base.adapterName,
    connect: () => track(base.connect()),
    connectToShadowDb: () => track(base.connectToShadowDb()),
  });
  let engine: WasmEngine | undefined;
  try {
    engine = await mod.SchemaEngine.new({ datamodels: files.map((f) => [f.path, f.content]) }, () => {}, factory);
    const r = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: true,
      filters: { externalTables: [], externalEnums: [] },
    });
    return { ok: true, via: '@prisma/schema-engine-wasm', differs: r.exitCode === 2, script: (r.stdout ?? '').trim() };
  } catch (err) {
    return { ok: false, reason: `Prisma's wasm schema engine failed: ${panics[0] ?? describeError(err)}` };
  } finally {
    engine?.free();
    for (const a of adapters) await a.dispose?.().catch(() => {});
  }
}

async function viaCli(url: string, schema: string, cwd: string, cli: string): Promise<DriftResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-drift-'));
  try {
    writeFileSync(
      path.join(dir, 'prisma.config.ts'),
      `export default { schema: ${JSON.stringify(schema)}, datasource: { url: process.env.DATABASE_URL } };\n`,
    );
    const args = [
      'migrate',
      'diff',
      '--config',
      path.join(dir, 'prisma.config.ts'),
      '--from-config-datasource',
      '--to-schema',
      schema,
      '--script',
      '--exit-code',
    ];
    try {
      const out = await execPrismaCli(cli, args, {
        cwd,
        env: { ...process.env, DATABASE_URL: url },
        timeoutMs: 120_000,
      });
      return { ok: true, via: 'prisma migrate diff', differs: false, script: out.trim() };
    } catch (err) {
      const msg = describeError(err);
      if (/exited with code 2/.test(msg))
        return {
          ok: true,
          via: 'prisma migrate diff',
          differs: true,
          script: msg.split('\n').slice(1).join('\n').trim(),
        };
      return { ok: false, reason: `prisma migrate diff failed: ${msg.split('\n')[0]}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Diffs the database at `url` against `schema`; native CLI when its engine runs, else the wasm engine. */
export async function detectDrift(
  url: string,
  schema: string,
  opts: { cwd: string; cli?: string | undefined },
): Promise<DriftResult> {
  if (!existsSync(schema)) return { ok: false, reason: `schema "${schema}" does not exist (set schema / --schema)` };
  const engine = prismaEngineAvailable({ cwd: opts.cwd, ...(opts.cli ? { cli: opts.cli } : {}) });
  if (engine.ok) {
    const req = createRequire(path.join(opts.cwd, 'package.json'));
    const cli = opts.cli ?? path.join(path.dirname(req.resolve('prisma/package.json')), 'build', 'index.js');
    return viaCli(url, schema, opts.cwd, cli);
  }
  const files = readSchemaFiles(schema);
  const wasm = await viaWasm(url, files, path.dirname(schema));
  if (!wasm.ok) return { ok: false, reason: `${wasm.reason}; the native engine is unavailable too (${engine.reason})` };
  return wasm;
}
