/**
 * `pnpm bench:smoke`: the whole migration smoke at two seed volumes, printing JSON.
 * - small: 10,000 rows in the largest table (what a PR run seeds with `--rows-for`);
 * - large: 1,000,000 rows in the largest table (a nightly run).
 * Schema: `accounts` ← `events` (FK, enum, numeric, varchar, text, timestamp). Head migrations
 * rewrite `events` (numeric scale change), build an index on it without CONCURRENTLY, and add a
 * column with a constant default, so rewrites and locks are measured and reported.
 * Durations are wall-clock ms of the whole smoke and of each step (server start excluded: the
 * server is started once, as in CI). Target: the large run under 60 s on this machine.
 * - default: the example app's last migration as a PR, at the default volume (200 rows per
 *   table, drift against its schema.prisma), run `--runs` times (default 7) through the CLI,
 *   `shipgate migrate smoke` in a process of its own, server start included (the way a user
 *   runs it). Target: p50 ≤ 5 s.
 * Options: --small <rows> --large <rows> (largest table), --runs <n>, --only default|small|large.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startPostgres } from '../plugins/postgres/index.ts';
import { migrationSmoke } from '../plugins/smoke/index.ts';
import type { SmokeResult } from '../plugins/smoke/types.ts';

const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '10000' },
    large: { type: 'string', default: '1000000' },
    only: { type: 'string' },
    runs: { type: 'string', default: '7' },
  },
});
const log = (line: string) => process.stderr.write(`${line}\n`);

const BASE: Record<string, string> = {
  '20250101000000_accounts': `CREATE TYPE "EventKind" AS ENUM ('signup', 'login', 'purchase', 'refund');
CREATE TABLE "accounts" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "plan" VARCHAR(20) NOT NULL DEFAULT 'free',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "accounts_email_key" ON "accounts"("email");
`,
  '20250102000000_events': `CREATE TABLE "events" (
    "id" SERIAL NOT NULL,
    "accountId" INTEGER NOT NULL,
    "kind" "EventKind" NOT NULL,
    "amount" DECIMAL(12,2),
    "note" VARCHAR(200),
    "payload" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "events_accountId_idx" ON "events"("accountId");
ALTER TABLE "events" ADD CONSTRAINT "events_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
`,
};
const HEAD: Record<string, string> = {
  '20250201000000_amount_scale': 'ALTER TABLE "events" ALTER COLUMN "amount" SET DATA TYPE DECIMAL(14,4);\n',
  '20250202000000_events_created_at': 'CREATE INDEX "events_createdAt_idx" ON "events"("createdAt");\n',
  '20250203000000_events_source': `ALTER TABLE "events" ADD COLUMN "source" TEXT NOT NULL DEFAULT 'web';\n`,
};

function write(dir: string, migrations: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  for (const [name, sql] of Object.entries(migrations)) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, 'migration.sql'), sql);
  }
}

function summarize(r: SmokeResult, largest: number) {
  const lockOf = (m: string) => r.files.find((f) => f.migration === m)?.locks.find((l) => l.relation === 'events');
  return {
    largestTableRows: largest,
    seededRows: r.seed?.tables.reduce((s, t) => s + t.rows, 0),
    seed: r.seed?.tables,
    totalMs: r.durationMs,
    steps: Object.fromEntries(r.steps.filter((s) => s.step !== 'server').map((s) => [s.step, s.durationMs])),
    verdict: r.verdict,
    failing: r.failing,
    files: r.files.map((f) => ({
      migration: f.migration,
      durationMs: f.durationMs,
      walBytes: f.walBytes,
      eventsLock: lockOf(f.migration) ? { mode: lockOf(f.migration)?.mode, holdMs: lockOf(f.migration)?.holdMs } : null,
      rewritten: f.rewritten.map((x) => x.relation),
    })),
    backup: r.checks.find((c) => c.id === 'backup')?.evidence,
    restoreMs: r.checks.find((c) => c.id === 'restore')?.evidence.restoreMs,
    restoreAfterMs: r.checks.find((c) => c.id === 'restore-after')?.evidence.restoreMs,
  };
}

const root = path.resolve(import.meta.dirname, '..');
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
};

/** The default-volume PR run, through the CLI, `runs` times; server start and process start included. */
function defaultRuns(runs: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-smoke-default-'));
  const migrations = path.join(root, 'example', 'prisma', 'migrations');
  const names = readdirSync(migrations)
    .filter((n) => /^\d{14}_/.test(n))
    .sort();
  const baseDir = path.join(dir, 'base');
  mkdirSync(baseDir);
  cpSync(path.join(migrations, 'migration_lock.toml'), path.join(baseDir, 'migration_lock.toml'));
  for (const n of names.slice(0, -1)) cpSync(path.join(migrations, n), path.join(baseDir, n), { recursive: true });
  const wall: number[] = [];
  const stepTotals: Record<string, number[]> = {};
  let verdict = '';
  try {
    for (let i = 0; i < runs; i++) {
      const json = path.join(dir, `run-${i}.json`);
      const t = performance.now();
      const r = spawnSync(
        process.execPath,
        [
          path.join(root, 'plugins', 'cli', 'shipgate.ts'),
          'migrate',
          'smoke',
          '--base',
          baseDir,
          '--head',
          migrations,
          '--schema',
          path.join(root, 'example', 'prisma', 'schema.prisma'),
          '--json',
          json,
          '--no-records',
        ],
        { encoding: 'utf8', cwd: root },
      );
      wall.push(Math.round(performance.now() - t));
      if (r.status !== 0) throw new Error(`shipgate migrate smoke exited ${r.status}:\n${r.stderr.slice(-2000)}`);
      const result = JSON.parse(readFileSync(json, 'utf8')) as SmokeResult;
      verdict = result.verdict;
      for (const st of result.steps) {
        stepTotals[st.step] ??= [];
        stepTotals[st.step]?.push(st.durationMs);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    migration: names.at(-1),
    runs,
    verdict,
    wallMs: {
      p50: quantile(wall, 0.5),
      p90: quantile(wall, 0.9),
      min: Math.min(...wall),
      max: Math.max(...wall),
      all: wall,
    },
    stepsP50Ms: Object.fromEntries(Object.entries(stepTotals).map(([k, v]) => [k, quantile(v, 0.5)])),
    targetP50Ms: 5_000,
    p50UnderTarget: quantile(wall, 0.5) <= 5_000,
  };
}

const defaultRun = !values.only || values.only === 'default' ? defaultRuns(Number(values.runs)) : undefined;
if (values.only === 'default') {
  process.stdout.write(
    `${JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, default: defaultRun }, null, 2)}\n`,
  );
  process.exit(0);
}
const work = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-smoke-'));
const base = path.join(work, 'base');
const head = path.join(work, 'head');
write(base, BASE);
write(head, { ...BASE, ...HEAD });
const server = await startPostgres({ log });
const out: Record<string, unknown> = {
  machine: { cpus: cpus().length, node: process.version },
  server: { provider: server.provider, version: server.version },
  method:
    'wall-clock ms of one migrationSmoke() run per volume (server started once, not counted); steps as reported by the smoke',
  targetLargeMs: 60_000,
  ...(defaultRun ? { default: defaultRun } : {}),
};
try {
  for (const [volume, rows] of [
    ['small', Number(values.small)],
    ['large', Number(values.large)],
  ] as const) {
    if (values.only && values.only !== volume) continue;
    const r = await migrationSmoke({
      base,
      head,
      adminUrl: server.adminUrl,
      ...(server.containerId ? { containerId: server.containerId } : {}),
      schema: false,
      rows: 200,
      rowsPerTable: { events: rows, accounts: Math.max(200, Math.round(rows / 10)) },
      lockBudgetMs: 60_000,
      log,
    });
    out[volume] = summarize(r, rows);
  }
  const large = out.large as { totalMs: number } | undefined;
  if (large) out.largeUnderTarget = large.totalMs < 60_000;
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
