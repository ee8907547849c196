/**
 * `pnpm bench:db`: database lifecycle benchmark, printing JSON.
 * Measures (microseconds internally, reported in ms with 3 decimals):
 * - provider cold start (selected like the tests: SHIPGATE_PROVIDER or auto), `coldStarts` times;
 * - per scenario (the example app's 3 migrations; a synthetic 60-table schema): template build,
 *   clone latency over `clones` sequential clones (`STRATEGY FILE_COPY`, and WAL_LOG for contrast),
 * - reset by rollback (ROLLBACK + BEGIN after a write) over `resets` iterations;
 *   and two naive baselines in the same run: an empty database per test file migrated from scratch
 *   in-process, and the same through a migration CLI process (`shipgate migrate deploy`);
 * Percentiles: nearest-rank on unrounded samples.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { summarize } from '../plugins/core/stats.ts';
import { createMigrator } from '../plugins/migrate/index.ts';
import { Databases } from '../plugins/postgres/databases.ts';
import { startPostgres } from '../plugins/postgres/index.ts';

const { values } = parseArgs({
  options: {
    clones: { type: 'string', default: '60' },
    naive: { type: 'string', default: '15' },
    resets: { type: 'string', default: '300' },
    'naive-cli': { type: 'string', default: '8' },
    'cold-starts': { type: 'string', default: '3' },
  },
});
const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'plugins', 'cli', 'shipgate.ts');
const ms = (us: number) => Math.round(us) / 1000;
const msStats = (us: number[]) =>
  Object.fromEntries(Object.entries(summarize(us)).map(([k, v]) => [k, k === 'n' ? v : ms(v)]));
const since = (t: number) => (performance.now() - t) * 1000;
const log = (line: string) => process.stderr.write(`${line}\n`);

const coldStartsUs: number[] = [];
let provider = '';
let version = '';
for (let i = 0; i < Number(values['cold-starts']); i++) {
  const t = performance.now();
  const server = await startPostgres({ log });
  coldStartsUs.push(since(t));
  provider = server.provider;
  version = server.version;
  if (i < Number(values['cold-starts']) - 1) await server.stop();
  else await runOn(server.adminUrl, server.major).finally(() => server.stop());
}

/** Writes `tables` tables as Prisma-style migrations (3 tables each) into a temp dir. */
function syntheticMigrations(tables: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-migrations-'));
  for (let m = 0; m < tables / 3; m++) {
    const folder = path.join(dir, `2025010100${String(m).padStart(4, '0')}_batch_${m}`);
    mkdirSync(folder);
    let sql = '';
    for (let t = m * 3; t < m * 3 + 3; t++) {
      sql += `-- CreateTable
CREATE TABLE "t${t}" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "body" TEXT,
    "amount" DECIMAL(12,2) NOT NULL DEFAULT 0,
    "parentId" INTEGER${t > 0 ? ` REFERENCES "t${t - 1}"("id") ON DELETE CASCADE` : ''},
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "t${t}_pkey" PRIMARY KEY ("id")
);
-- CreateIndex
CREATE INDEX "t${t}_name_idx" ON "t${t}"("name");
CREATE INDEX "t${t}_parentId_idx" ON "t${t}"("parentId");
`;
    }
    writeFileSync(path.join(folder, 'migration.sql'), sql);
  }
  return dir;
}

interface Scenario {
  name: string;
  migrationsDir: string;
  tables: number;
}

async function measureScenario(adminUrl: string, major: number, scenario: Scenario) {
  const migrator = createMigrator({ kind: 'prisma-sql', migrationsDir: scenario.migrationsDir });
  const dbs = new Databases(adminUrl, { major, prefix: 'sgbench' });
  try {
    const t = performance.now();
    const template = await dbs.ensureTemplate(migrator);
    const templateUs = since(t);

    const cloneUs: number[] = [];
    const dropUs: number[] = [];
    for (let i = 0; i < Number(values.clones); i++) {
      const t1 = performance.now();
      const db = await dbs.clone(template.name);
      cloneUs.push(since(t1));
      const t2 = performance.now();
      await db.drop();
      dropUs.push(since(t2));
    }

    // The same clone with Postgres' default strategy, to show what FILE_COPY buys.
    const walLogUs: number[] = [];
    const admin = new pg.Client(adminUrl);
    await admin.connect();
    for (let i = 0; i < Math.min(20, Number(values.clones)); i++) {
      const name = `sgbench_t_${Math.floor(Date.now() / 1000).toString(36)}_${dbs.runId}_wal_${i}`;
      const t1 = performance.now();
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template.name}" STRATEGY WAL_LOG`);
      walLogUs.push(since(t1));
      await admin.query(`DROP DATABASE "${name}"`);
    }
    await admin.end();

    // Naive baseline: a fresh database per test file, migrated from scratch with the same
    // (in-process, engine-free) migrator. A CLI migrator would add its process start on top.
    const naiveUs: number[] = [];
    for (let i = 0; i < Number(values.naive); i++) {
      const t1 = performance.now();
      const db = await dbs.createEmpty();
      await migrator.migrate(db.url);
      naiveUs.push(since(t1));
      await db.drop();
    }

    // Naive with a migration CLI per test file, as teams do with `prisma migrate deploy`
    // (whose engine cannot run here): shipgate's own engine-free CLI, a lower bound for Prisma's.
    const naiveCliUs: number[] = [];
    for (let i = 0; i < Number(values['naive-cli']); i++) {
      const t1 = performance.now();
      const db = await dbs.createEmpty();
      const res = spawnSync(
        process.execPath,
        [cli, 'migrate', 'deploy', '--dir', scenario.migrationsDir, '--url', db.url],
        {
          encoding: 'utf8',
        },
      );
      if (res.status !== 0) throw new Error(`shipgate migrate deploy failed: ${res.stderr}`);
      naiveCliUs.push(since(t1));
      await db.drop();
    }

    const clone = summarize(cloneUs);
    const naive = summarize(naiveUs);
    const naiveCli = summarize(naiveCliUs);
    return {
      scenario: scenario.name,
      tables: scenario.tables,
      templateBuildMs: ms(templateUs),
      clone: msStats(cloneUs),
      cloneWalLog: msStats(walLogUs),
      drop: msStats(dropUs),
      naivePerFile: msStats(naiveUs),
      naiveOverCloneP50: Math.round((naive.p50 / clone.p50) * 10) / 10,
      naiveCliPerFile: msStats(naiveCliUs),
      naiveCliOverCloneP50: Math.round((naiveCli.p50 / clone.p50) * 10) / 10,
      cloneP50: clone.p50,
      naiveP50: naive.p50,
    };
  } finally {
    for (const d of await dbs.list()) await dbs.dropByName(d.name).catch(() => undefined);
    await dbs.close();
  }
}

async function measureReset(adminUrl: string, major: number): Promise<number[]> {
  const migrator = createMigrator({ kind: 'prisma-sql', migrationsDir: path.join(root, 'example/prisma/migrations') });
  const dbs = new Databases(adminUrl, { major, prefix: 'sgbench' });
  try {
    const template = await dbs.ensureTemplate(migrator);
    const db = await dbs.clone(template.name);
    const client = new pg.Client(db.url);
    await client.connect();
    const resetUs: number[] = [];
    await client.query('BEGIN');
    for (let i = 0; i < Number(values.resets); i++) {
      await client.query('INSERT INTO users (email, name) VALUES ($1, $2)', [`reset${i}@bench.test`, 'bench']);
      const t1 = performance.now();
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      resetUs.push(since(t1));
    }
    await client.query('ROLLBACK');
    await client.end();
    return resetUs;
  } finally {
    for (const d of await dbs.list()) await dbs.dropByName(d.name).catch(() => undefined);
    await dbs.close();
  }
}

async function runOn(adminUrl: string, major: number): Promise<void> {
  const synthetic = syntheticMigrations(60);
  try {
    const scenarios = [
      await measureScenario(adminUrl, major, {
        name: `example app (${readdirSync(path.join(root, 'example/prisma/migrations')).filter((d) => !d.includes('.')).length} migrations)`,
        migrationsDir: path.join(root, 'example/prisma/migrations'),
        tables: 3,
      }),
      await measureScenario(adminUrl, major, {
        name: 'synthetic 60 tables (20 migrations)',
        migrationsDir: synthetic,
        tables: 60,
      }),
    ];
    const resetUs = await measureReset(adminUrl, major);
    const reset = summarize(resetUs);
    const cold = summarize(coldStartsUs);
    const result = {
      benchmark: 'db',
      unit: 'ms',
      percentileMethod: 'nearest-rank, unrounded microsecond samples',
      machine: { cpus: cpus().length, node: process.version },
      provider,
      postgres: version,
      coldStart: msStats(coldStartsUs),
      scenarios: scenarios.map(({ cloneP50: _c, naiveP50: _n, ...rest }) => rest),
      resetByRollback: msStats(resetUs),
      targets: {
        cloneP50LE25ms: scenarios.every((s) => ms(s.cloneP50) <= 25),
        tenTimesFasterThanNaiveInProcess: Object.fromEntries(
          scenarios.map((s) => [s.scenario, s.naiveP50 / s.cloneP50 >= 10]),
        ),
        tenTimesFasterThanNaiveCli: Object.fromEntries(
          scenarios.map((s) => [s.scenario, s.naiveCliOverCloneP50 >= 10]),
        ),
        resetP50LE2ms: ms(reset.p50) <= 2,
        embeddedColdStartLE2s: provider !== 'embedded' || ms(cold.p50) <= 2000,
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(synthetic, { recursive: true, force: true });
  }
}
