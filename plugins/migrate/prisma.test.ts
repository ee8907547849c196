import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, onTestFinished, test } from 'vitest';
import { createScratchDatabase, withClient } from '../../specs/support/test-db.ts';
import { MigrationError } from '../core/errors.ts';
import { readMigrationsFolder } from './migrations-dir.ts';
import { execPrismaCli, prismaEngineAvailable, prismaMigrator } from './prisma.ts';
import { prismaSqlMigrator } from './prisma-sql.ts';

const FIXTURES = path.join(import.meta.dirname, '__fixtures__');
const CLI = path.join(path.dirname(createRequire(import.meta.url).resolve('prisma/package.json')), 'build', 'index.js');

const avail = prismaEngineAvailable();
const skipReason = avail.ok ? '' : ` [skipped: ${avail.reason}]`;
if (!avail.ok) console.warn(`prisma migrator: tests that run \`prisma migrate deploy\` are skipped: ${avail.reason}`);

// Prisma's schema engine compiled to WebAssembly runs the same Rust apply_migrations and
// _prisma_migrations code as the native binary, through a driver adapter. Not a dependency yet;
// the cross-check below runs once `@prisma/schema-engine-wasm` is installed (pnpm add -D).
const wasmEngine = await import('@prisma/schema-engine-wasm' as string).then(
  (m: { SchemaEngine: WasmSchemaEngine }) => m.SchemaEngine,
  (e: Error) => e,
);
const wasmSkip = wasmEngine instanceof Error ? ` [skipped: @prisma/schema-engine-wasm not installed]` : '';
interface WasmSchemaEngine {
  new: (
    options: { datamodels: [string, string][] },
    log: (message: string) => void,
    adapterFactory: object,
  ) => Promise<{ applyMigrations(input: object): Promise<{ appliedMigrationNames: string[] }> }>;
}

/** A throwaway Prisma 7 project whose prisma.config.ts reads DATABASE_URL, with a copy of a fixture's migrations. */
function prismaProject(fixture: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-prisma-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
  writeFileSync(
    path.join(dir, 'prisma.config.ts'),
    "export default { schema: 'schema.prisma', migrations: { path: 'migrations' }, datasource: { url: process.env.DATABASE_URL } };\n",
  );
  cpSync(path.join(FIXTURES, fixture), path.join(dir, 'migrations'), { recursive: true });
  return dir;
}

async function scratch() {
  const db = await createScratchDatabase();
  onTestFinished(() => db.drop());
  return db;
}

/** Everything that describes a migrated database: history rows (minus ids/times) and the schema. */
async function snapshot(url: string) {
  return withClient(url, async (c) => {
    const q = async (sql: string) => (await c.query(sql)).rows;
    return {
      history: await q(
        `SELECT migration_name, checksum, logs, applied_steps_count, finished_at IS NOT NULL AS finished,
                rolled_back_at, length(id) AS id_length
         FROM _prisma_migrations ORDER BY started_at`,
      ),
      columns: await q(
        `SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      ),
      indexes: await q("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 2"),
      routines: await q(
        "SELECT routine_name, routine_type FROM information_schema.routines WHERE routine_schema = 'public' ORDER BY 1",
      ),
    };
  });
}

describe('prisma migrator', { timeout: 120_000 }, () => {
  test(`prismaEngineAvailable says whether Prisma's schema engine can run, and why not${skipReason}`, () => {
    if (avail.ok) expect(avail.version).not.toBe('');
    else expect(avail.reason).toMatch(/schema-engine|PRISMA_SCHEMA_ENGINE_BINARY|prisma/);
  });

  test('a dummy PRISMA_SCHEMA_ENGINE_BINARY (/bin/true, as set for `prisma generate`) is not taken for an engine', () => {
    const dummy = prismaEngineAvailable({ env: { PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true' } });
    expect(dummy).toEqual({
      ok: false,
      // GNU true prints its own version ("true (GNU coreutils) 9.1"); busybox true prints nothing.
      reason: expect.stringMatching(
        /^PRISMA_SCHEMA_ENGINE_BINARY=\/bin\/true is not a Prisma schema engine \(`--version` exited 0 and printed (nothing|"true .*")\)$/,
      ),
    });
    const missing = prismaEngineAvailable({ env: { PRISMA_MIGRATION_ENGINE_BINARY: '/nonexistent/schema-engine' } });
    expect(missing).toEqual({
      ok: false,
      reason: 'PRISMA_MIGRATION_ENGINE_BINARY=/nonexistent/schema-engine does not exist',
    });
  });

  test.skipIf(avail.ok)(
    'without an engine, migrate() refuses up front (no CLI run, no download) and names the fix',
    async () => {
      const db = await scratch();
      const migrator = prismaMigrator({ cwd: prismaProject('basic'), cli: CLI });
      const err = await migrator.migrate(db.url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MigrationError);
      expect(err).toMatchObject({ code: 'SHIPGATE_PRISMA_ENGINE_MISSING' });
      const message = (err as Error).message;
      expect(message).toContain('Cannot run `prisma migrate deploy`: no schema-engine binary');
      expect(message).toContain('PRISMA_SCHEMA_ENGINE_BINARY');
      expect(message).toContain('SHIPGATE_MIGRATOR=prisma-sql');
      const history = await withClient(db.url, (c) => c.query("SELECT to_regclass('_prisma_migrations') AS t"));
      expect(history.rows[0].t).toBeNull();
    },
  );

  test('a failing Prisma CLI run becomes SHIPGATE_PRISMA_CLI_FAILED with the tail of its output', async () => {
    const cwd = prismaProject('basic');
    const err = await execPrismaCli(CLI, ['migrate', 'deploy', '--config', 'missing.config.ts'], {
      cwd,
      env: { ...process.env, DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' },
      shownEnv: 'DATABASE_URL=postgres://u:***@127.0.0.1:1/x',
      timeoutMs: 60_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'SHIPGATE_PRISMA_CLI_FAILED' });
    const message = (err as Error).message;
    expect(message).toContain(
      '`DATABASE_URL=postgres://u:***@127.0.0.1:1/x prisma migrate deploy --config missing.config.ts`',
    );
    expect(message).toContain('exited with code 1');
    expect(message).toContain(`Config file not found at "${path.join(cwd, 'missing.config.ts')}"`);
    expect(message).not.toContain('secret');
  });

  test('hash: its own name, so it differs from prisma-sql on the same folder; stable', async () => {
    const dir = path.join(FIXTURES, 'basic');
    const a = await prismaMigrator({ migrationsDir: dir }).hash();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await prismaMigrator({ migrationsDir: dir }).hash()).toBe(a);
    expect(await prismaSqlMigrator({ migrationsDir: dir }).hash()).not.toBe(a);
  });

  test.skipIf(!avail.ok)(
    `cross-check: prisma migrate deploy and prisma-sql leave identical history and schema${skipReason}`,
    async () => {
      const viaPrisma = await scratch();
      const viaSql = await scratch();
      const cwd = prismaProject('basic');
      const result = await prismaMigrator({ cwd, cli: CLI, migrationsDir: path.join(cwd, 'migrations') }).migrate(
        viaPrisma.url,
      );
      expect(result.applied).toHaveLength(3);
      await prismaSqlMigrator({ migrationsDir: path.join(cwd, 'migrations') }).migrate(viaSql.url);
      expect(await snapshot(viaSql.url)).toEqual(await snapshot(viaPrisma.url));
    },
  );

  test.skipIf(!avail.ok)(
    `cross-check: a failed migration leaves the same row (Prisma's logs start with ours)${skipReason}`,
    async () => {
      const viaPrisma = await scratch();
      const viaSql = await scratch();
      const cwd = prismaProject('runtime-error');
      const dir = path.join(cwd, 'migrations');
      await expect(prismaMigrator({ cwd, cli: CLI, migrationsDir: dir }).migrate(viaPrisma.url)).rejects.toThrow(
        MigrationError,
      );
      await expect(prismaSqlMigrator({ migrationsDir: dir }).migrate(viaSql.url)).rejects.toThrow(MigrationError);
      const [p, s] = [await snapshot(viaPrisma.url), await snapshot(viaSql.url)];
      expect(s.columns).toEqual(p.columns);
      expect(s.history.map(({ logs, ...rest }) => rest)).toEqual(p.history.map(({ logs, ...rest }) => rest));
      // Prisma appends its engine's tracing span trace after the P3018 text; everything before it must match.
      expect(p.history[1]?.logs.startsWith(s.history[1]?.logs)).toBe(true);
    },
  );

  test(`cross-check: Prisma's schema engine (wasm build) writes the same _prisma_migrations rows${wasmSkip}`, async (ctx) => {
    if (wasmEngine instanceof Error) return ctx.skip();
    const viaEngine = await scratch();
    const viaSql = await scratch();
    // @prisma/adapter-pg's executeScript splits scripts on ';' (no dollar quotes), so the fixture stays simple.
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-wasm-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(path.join(FIXTURES, 'basic', 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
    for (const [name, sql] of [
      ['20240101000000_a', 'CREATE TABLE a (id int PRIMARY KEY);\nCREATE INDEX a_i ON a (id);\n'],
      ['20240102000000_crlf', 'ALTER TABLE a ADD COLUMN b text;\r\n'],
    ] as const) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'migration.sql'), sql);
    }
    const adapterPg = createRequire(import.meta.url).resolve('@prisma/adapter-pg');
    const { PrismaPg } = await import('@prisma/adapter-pg');
    const utils = await import(pathToFileURL(createRequire(adapterPg).resolve('@prisma/driver-adapter-utils')).href);
    const factory = utils.bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: viaEngine.url }));
    const engine = await wasmEngine.new(
      { datamodels: [['schema.prisma', 'datasource db {\n  provider = "postgresql"\n}\n']] },
      () => {},
      factory,
    );
    const folder = readMigrationsFolder(dir);
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList: {
        baseDir: dir,
        lockfile: { path: 'migration_lock.toml', content: folder.lockfile ?? null },
        shadowDbInitScript: '',
        migrationDirectories: folder.migrations.map((m) => ({
          path: m.name,
          migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: m.sql } },
        })),
      },
      filters: { externalTables: [], externalEnums: [] },
    });
    expect(appliedMigrationNames).toEqual(['20240101000000_a', '20240102000000_crlf']);
    await prismaSqlMigrator({ migrationsDir: dir }).migrate(viaSql.url);
    const [e, s] = [await snapshot(viaEngine.url), await snapshot(viaSql.url)];
    expect(s).toEqual(e);
  });
});
