/**
 * `pnpm bench:smoke`: the whole migration smoke at two seed volumes, printing JSON.
 * - small: 10,000 rows in the largest table (what a PR run seeds with `--rows-for`);
 * - large: 1,000,000 rows in the largest table (a nightly run).
 * Schema: `accounts` ← `events` (FK, enum, numeric, varchar, text, timestamp). Head migrations
 * rewrite `events` (numeric scale change), build an index on it without CONCURRENTLY, and add a
 * column with a constant default, so rewrites and locks are measured and reported.
 * Durations are wall-clock ms of the whole smoke and of each step (server start excluded: the
 * server is started once, as in CI). Target: the large run under 60 s on this machine.
 * Options: --small <rows> --large <rows> (largest table), --only small|large.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
