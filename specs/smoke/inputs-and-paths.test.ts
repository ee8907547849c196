/**
 * Migration smoke inputs and paths: bad input gets a clear error and leaves nothing behind;
 * a git ref as base; the drift check through Prisma's engine; the pg_dump fallback on a
 * server whose major has no pg_dump here (embedded Postgres 18); probes; the CLI with its
 * JSON, summary, records and exit codes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { ConfigError } from '../../plugins/core/errors.ts';
import { prismaEngineAvailable } from '../../plugins/migrate/prisma.ts';
import { startPostgres } from '../../plugins/postgres/index.ts';
import { migrationSmoke, SmokeSourceError } from '../../plugins/smoke/index.ts';
import { checkOf, findings, headWith, leftovers, problems, SHOP, smokeOn } from './helpers.ts';

const PREFIX = 'sgsmc';
const root = path.resolve(import.meta.dirname, '..', '..');
const SCHEMA = path.join(import.meta.dirname, 'fixtures', 'shop', 'schema.prisma');
let adminUrl = '';

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, '-c', 'user.email=smoke@example.test', '-c', 'user.name=smoke', ...args], {
    encoding: 'utf8',
  });
}

describe('migration smoke: inputs, fallbacks and the CLI', { timeout: 60_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('bad input: missing folders, unknown git ref and bad settings are named with the fix', async ({ shipgate }) => {
    adminUrl = shipgate.adminUrl;
    const missingHead = await migrationSmoke({ base: SHOP, head: '/nonexistent/migrations', adminUrl }).catch(
      (e: unknown) => e,
    );
    expect(missingHead).toBeInstanceOf(SmokeSourceError);
    expect((missingHead as Error).message).toBe(
      'Head migrations folder "/nonexistent/migrations" does not exist. Pass --head <folder> (default prisma/migrations; env SHIPGATE_MIGRATIONS_DIR).',
    );
    const unknownRef = await migrationSmoke({ base: 'no-such-ref-3f9a', head: SHOP, cwd: root, adminUrl }).catch(
      (e: unknown) => e,
    );
    expect(unknownRef).toBeInstanceOf(SmokeSourceError);
    expect((unknownRef as Error).message).toMatch(
      /^Base "no-such-ref-3f9a" is neither a migrations folder \(.*no-such-ref-3f9a does not exist\) nor a git ref in .*\. Pass --base <folder> or --base <ref>/,
    );
    const bad = await migrationSmoke({
      head: SHOP,
      rows: -1 as number,
      rowsPerTable: { orders: 1e9 },
      settings: { lockTimeout: '5 s' },
      lockBudgetMs: -5,
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).problems).toEqual([
      'base is not set: pass a migrations folder or a git ref (--base, env SHIPGATE_SMOKE_BASE)',
      'settings.lockTimeout is "5 s"; expected a Postgres setting value without spaces (e.g. 5s, UTC) (--lock-timeout, env SHIPGATE_SMOKE_LOCK_TIMEOUT)',
      'rows is "-1"; expected small, large or a whole number from 0 to 10000000 (--rows, env SHIPGATE_SMOKE_ROWS)',
      'rowsPerTable.orders is 1000000000; expected a whole number from 0 to 10000000 (--rows-for)',
      'lockBudgetMs is "-5"; expected milliseconds ≥ 0 (env SHIPGATE_SMOKE_LOCK_BUDGET_MS)',
    ]);
    expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('malformed SQL: FAIL 42601 at the file and line, squawk syntax-error; nothing left behind', async ({
    shipgate,
  }) => {
    const r = await smokeOn(shipgate, PREFIX, headWith('malformed-sql'));
    expect(r.verdict).toBe('FAIL');
    const [failed] = findings(r, 'apply/failed');
    expect(failed).toMatchObject({ migration: '20250201000000_typo', evidence: { sqlstate: '42601', line: 2 } });
    expect(failed?.message).toContain('syntax error at or near "TEXT"');
    expect(findings(r, 'lint/syntax-error')).toHaveLength(1);
    expect(await leftovers(shipgate.adminUrl, PREFIX)).toEqual([]);
  });

  test('base from a git ref, read without a checkout; history flags a non-linear new migration', async ({
    shipgate,
  }) => {
    const repo = tempDir('shipgate-smoke-repo-');
    const migrations = path.join(repo, 'prisma', 'migrations');
    cpSync(SHOP, migrations, { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'base');
    // Head: a new migration, timestamped before base's latest (a branch that sat too long).
    mkdirSync(path.join(migrations, '20250101120000_orders_note_index'));
    writeFileSync(
      path.join(migrations, '20250101120000_orders_note_index', 'migration.sql'),
      'CREATE INDEX CONCURRENTLY "orders_note_idx" ON "orders"("note");\n',
    );
    const r = await migrationSmoke({
      base: 'HEAD',
      cwd: repo,
      adminUrl: shipgate.adminUrl,
      containerId: shipgate.containerId,
      schema: false,
      prefix: PREFIX,
    });
    expect(r.base).toMatchObject({
      source: 'git',
      label: 'HEAD:prisma/migrations',
      migrations: ['20250101000000_init', '20250102000000_catalog'],
    });
    expect(r.base.commit).toBe(git(repo, 'rev-parse', 'HEAD').trim());
    expect(r.newMigrations).toEqual(['20250101120000_orders_note_index']);
    expect(problems(r)).toEqual(['WARN history/non-linear:20250101120000_orders_note_index']);
    expect(r.exitCode).toBe(0);
    // The work tree was not touched, and the temp copy is gone.
    expect(git(repo, 'status', '--porcelain').trim()).toBe('?? prisma/migrations/20250101120000_orders_note_index/');
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('shipgate-smoke-base-'))).toEqual([]);
  });

  test('drift: Prisma’s engine diffs schema.prisma against the migrated database (matching: SAFE; not: FAIL)', async ({
    shipgate,
  }) => {
    const engine = prismaEngineAvailable();
    const matching = await smokeOn(shipgate, PREFIX, headWith(), { schema: SCHEMA });
    const drift = checkOf(matching, 'drift');
    expect(drift).toMatchObject({
      verdict: 'SAFE',
      evidence: { via: engine.ok ? 'prisma migrate diff' : '@prisma/schema-engine-wasm', schema: SCHEMA },
    });
    const edited = path.join(tempDir('shipgate-smoke-schema-'), 'schema.prisma');
    writeFileSync(
      edited,
      readFileSync(SCHEMA, 'utf8').replace(
        '  nickname  String?   @db.VarChar(40)\n',
        '  nickname  String?   @db.VarChar(40)\n  phone     String?\n',
      ),
    );
    const differs = await smokeOn(shipgate, PREFIX, headWith(), { schema: edited });
    const [finding] = findings(differs, 'drift/schema-differs');
    expect(finding?.verdict).toBe('FAIL');
    expect(finding?.evidence?.script).toContain('ADD COLUMN     "phone" TEXT');
  });

  test('no pg_dump of the server major (embedded Postgres 18): template-copy fallback, said so; a forced pg_dump of another major is FAIL', async ({
    skip,
  }) => {
    const local = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' });
    await using server = await startPostgres({ provider: 'embedded', log: () => {} });
    if (local.status === 0 && local.stdout.includes(`) ${server.major}.`))
      skip(`the machine's pg_dump matches Postgres ${server.major}`);
    const r = await migrationSmoke({
      base: SHOP,
      head: headWith('index-concurrently'),
      adminUrl: server.adminUrl,
      schema: false,
      prefix: PREFIX,
    });
    expect(r.verdict).toBe('WARN');
    expect(r.exitCode).toBe(0);
    const [fallback] = findings(r, 'backup/no-matching-pg-dump');
    expect(fallback?.message).toContain(`no pg_dump ${server.major} for server ${server.version}`);
    expect(checkOf(r, 'backup').evidence.method).toBe('template-database copy');
    expect(checkOf(r, 'restore')).toMatchObject({
      verdict: 'SAFE',
      evidence: { method: 'template-database copy (no pg_dump of the server major)', compared: 4 },
    });
    expect(checkOf(r, 'restore-after')).toMatchObject({
      verdict: 'SKIPPED',
      reason: expect.stringContaining(`no pg_dump ${server.major} at hand`),
    });
    if (local.status === 0) {
      const forced = await migrationSmoke({
        base: SHOP,
        head: SHOP,
        adminUrl: server.adminUrl,
        pgDump: 'pg_dump',
        schema: false,
        prefix: PREFIX,
      });
      expect(forced).toMatchObject({ verdict: 'FAIL', exitCode: 2, failing: ['backup/pg-dump-unusable'] });
      expect(findings(forced, 'backup/pg-dump-unusable')[0]?.message).toMatch(
        new RegExp(
          `^No backup can be made as configured: pg_dump "pg_dump" is 1\\d\\.\\d+ .*but the server is ${server.version}: the backup must be made with pg_dump ${server.major}\\. Set SHIPGATE_PG_DUMP`,
        ),
      );
      expect(await leftovers(server.adminUrl, PREFIX)).toEqual([]);
    }
  });

  test('probes: a blocking index build makes concurrent writes wait (reads pass); CONCURRENTLY blocks neither', async ({
    shipgate,
  }) => {
    const rows = { orders: 200_000 }; // a build long enough (hundreds of ms) that probe writes overlap it
    const blocking = await smokeOn(shipgate, PREFIX, headWith('index-blocking'), { probes: true, rowsPerTable: rows });
    const probe = blocking.files[0]?.probes?.find((p) => p.table === 'orders');
    const hold = blocking.files[0]?.locks.find((l) => l.relation === 'orders')?.holdMs ?? 0;
    expect(probe).toMatchObject({ errors: [] });
    expect(probe?.reads).toBeGreaterThan(0);
    expect(probe?.writes).toBeGreaterThan(0);
    // A write issued during the build waits for the ShareLock until the file commits.
    expect(probe?.maxWriteMs).toBeGreaterThanOrEqual(hold * 0.3);
    expect(probe?.writeBlockedMs).toBeGreaterThan(0);
    expect(findings(blocking, 'locks/blocking-index-build')[0]?.evidence?.rows).toBe(200_000);
    // The data is untouched by the probes (their writes roll back).
    expect(checkOf(blocking, 'data').verdict).toBe('SAFE');

    const concurrent = await smokeOn(shipgate, PREFIX, headWith('index-concurrently'), {
      probes: true,
      rowsPerTable: rows,
    });
    const free = concurrent.files[0]?.probes?.find((p) => p.table === 'orders');
    expect(free?.writes).toBeGreaterThan(0);
    expect(free?.maxWriteMs).toBeLessThan(probe?.maxWriteMs as number);
    expect(problems(concurrent)).toEqual([]);
  });

  test('CLI: `shipgate migrate smoke` prints the summary, writes JSON and records, exits 2 on UNSAFE', async ({
    shipgate,
  }) => {
    const report = tempDir('shipgate-smoke-report-');
    const head = headWith('sequence-reset');
    const run = spawnSync(
      process.execPath,
      [
        'plugins/cli/shipgate.ts',
        'migrate',
        'smoke',
        '--base',
        SHOP,
        '--head',
        head,
        '--no-schema',
        '--database-url',
        shipgate.adminUrl,
        '--lock-timeout',
        '2s',
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, SHIPGATE_REPORT_DIR: report, SHIPGATE_SMOKE_FAIL_ON: '', DEBUG: '' },
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(2);
    expect(run.stdout).toMatch(/^shipgate migrate smoke: UNSAFE \(exit 2\) — 1 new migration\(s\)/);
    expect(run.stdout).toContain('UNSAFE invariants    Sequence "orders_id_seq" is at 1 but "orders.id" holds 200');
    expect(run.stdout).toContain('lock_timeout=2s');
    const json = JSON.parse(readFileSync(path.join(report, 'migration-smoke.json'), 'utf8'));
    expect(json).toMatchObject({ format: 'shipgate.migration-smoke/v1', verdict: 'UNSAFE', exitCode: 2 });
    const files = readdirSync(path.join(report, 'records'));
    expect(files).toHaveLength(1);
    const records = JSON.parse(readFileSync(path.join(report, 'records', files[0] as string), 'utf8'));
    expect(records).toMatchObject({ format: 'shipgate.records/v1', producer: 'migrate-smoke' });
    const byCheck = Object.fromEntries(
      records.records.map((x: { evidence: { check: string }; status: string }) => [x.evidence.check, x.status]),
    );
    expect(byCheck).toMatchObject({ invariants: 'failed', apply: 'passed', history: 'passed', drift: 'skipped' });
    expect(
      records.records.every(
        (x: { kind: string; runner: string }) => x.kind === 'migration' && x.runner === 'migrate-smoke',
      ),
    ).toBe(true);

    const usage = spawnSync(process.execPath, ['plugins/cli/shipgate.ts', 'migrate', 'smoke', '--bogus'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(usage.status).toBe(64);
    expect(usage.stderr).toContain("Unknown option '--bogus'");
    const missing = spawnSync(
      process.execPath,
      [
        'plugins/cli/shipgate.ts',
        'migrate',
        'smoke',
        '--base',
        SHOP,
        '--head',
        '/nonexistent/m',
        '--database-url',
        shipgate.adminUrl,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(
      'SmokeSourceError [SHIPGATE_SMOKE_SOURCE]: Head migrations folder "/nonexistent/m" does not exist.',
    );
    expect(existsSync(path.join(report, 'records'))).toBe(true);
  });

  test('migrator "prisma" runs your `prisma migrate deploy`, or refuses up front when Prisma’s engine is missing', async ({
    shipgate,
    skip,
  }) => {
    const engine = prismaEngineAvailable();
    if (engine.ok) {
      const r = await smokeOn(shipgate, PREFIX, headWith('index-blocking'), { migrator: 'prisma' });
      expect(r.migrator).toBe('prisma');
      expect(findings(r, 'locks/blocking-index-build')[0]?.target).toBe('orders');
      return;
    }
    const err = await smokeOn(shipgate, PREFIX, headWith('index-blocking'), { migrator: 'prisma' }).catch(
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).toBe('SHIPGATE_PRISMA_ENGINE_MISSING');
    expect((err as Error).message).toContain('SHIPGATE_MIGRATOR=prisma-sql');
    skip(`prisma migrate deploy itself cannot run here: ${engine.reason}`);
  });
});
