#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ShipgateError } from '../core/errors.ts';
import type { RunCounts } from '../vitest/reporter.ts';

/**
 * `shipgate` command line.
 *   shipgate test      generate the Prisma client, run Vitest (lint, types and all tests), print the summary
 *   shipgate gate      the example app's gate: the same pipeline, on the example's tests only
 *   shipgate generate  `prisma generate` for the example app (engine-free, skipped when up to date)
 *   shipgate migrate deploy [--dir prisma/migrations] [--url $DATABASE_URL]
 *                      apply Prisma migrations with the engine-free prisma-sql migrator
 * The last line of `test` and `gate` is `shipgate: N passed, N failed, N skipped`.
 */

const root = process.cwd();
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    // Forward Ctrl-C / SIGTERM so the runner's own teardown (containers, databases) runs.
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 128 + 2 : 1));
    });
    child.on('error', () => resolve(127));
  });
}

async function generate(): Promise<number> {
  const schema = path.join(root, 'example', 'prisma', 'schema.prisma');
  return run(process.execPath, [path.join(root, 'plugins', 'prisma', 'generate.ts'), schema]);
}

function readCounts(reportDir: string): RunCounts | undefined {
  const file = path.join(reportDir, 'vitest.counts.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as RunCounts;
}

async function pipeline(vitestArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const reportDir = path.resolve(process.env.SHIPGATE_REPORT_DIR ?? '.shipgate/report');
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const failures: string[] = [];
  const genCode = await generate();
  if (genCode !== 0) failures.push(`prisma generate exited ${genCode}`);
  const vitestCode =
    genCode === 0 ? await run(bin('vitest'), ['run', ...vitestArgs], { ...env, SHIPGATE_REPORT_DIR: reportDir }) : 1;
  const counts = readCounts(reportDir);
  if (!counts && genCode === 0) failures.push(`vitest exited ${vitestCode} without writing results`);
  const passed = (counts?.passed ?? 0) + (counts?.flaky ?? 0);
  const failed = (counts?.failed ?? 0) + (counts?.errors ?? 0) + failures.length;
  const skipped = counts?.skipped ?? 0;
  for (const f of failures) process.stdout.write(`shipgate: FAILED ${f}\n`);
  if (counts?.flaky) process.stdout.write(`shipgate: ${counts.flaky} flaky (passed on retry)\n`);
  process.stdout.write(`shipgate: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  if (failed > 0) return 2;
  return vitestCode === 0 ? 0 : 2;
}

async function migrate(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { dir: { type: 'string' }, url: { type: 'string' } },
  });
  if (positionals[0] !== 'deploy') {
    process.stderr.write('usage: shipgate migrate deploy [--dir prisma/migrations] [--url postgres://…]\n');
    return 64;
  }
  const url = values.url ?? process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('shipgate migrate deploy: no database URL. Pass --url or set DATABASE_URL.\n');
    return 64;
  }
  const { createMigrator } = await import('../migrate/index.ts');
  const migrator = createMigrator({
    kind: 'prisma-sql',
    migrationsDir: path.resolve(values.dir ?? process.env.SHIPGATE_MIGRATIONS_DIR ?? 'prisma/migrations'),
  });
  const result = await migrator.migrate(url);
  process.stdout.write(
    `shipgate: applied ${result.applied.length} migration(s) in ${(result.durationUs / 1000).toFixed(1)} ms\n`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'test':
      return pipeline(rest);
    case 'gate':
      // The main job: the example app's own suite on embedded Postgres unless told otherwise.
      return pipeline(['example', ...rest], { SHIPGATE_PROVIDER: process.env.SHIPGATE_PROVIDER ?? 'embedded' });
    case 'generate':
      return generate();
    case 'migrate':
      return migrate(rest);
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write('usage: shipgate <test|gate|generate|migrate deploy> [args]\n');
      return command ? 0 : 64;
    default: {
      const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
      process.stderr.write(`shipgate: unknown command "${positionals[0]}". Known: test, gate, generate, migrate.\n`);
      return 64;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `${err instanceof ShipgateError ? `${err.name} [${err.code}]: ` : ''}${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
