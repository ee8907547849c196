import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { RunCounts } from '../../vitest/reporter.ts';
import { bin, run } from '../run.ts';
import generate from './generate.ts';

/** `shipgate test [vitest args]`: generate the Prisma client, run the suites, print the summary line. */
export const summary =
  'run everything: prisma generate, Vitest (lint, types, unit, integration); last line is the summary';

function readCounts(reportDir: string): RunCounts | undefined {
  const file = path.join(reportDir, 'vitest.counts.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as RunCounts;
}

/** The pipeline behind `test` and `gate`. */
export async function pipeline(vitestArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const reportDir = path.resolve(process.env.SHIPGATE_REPORT_DIR ?? '.shipgate/report');
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const failures: string[] = [];
  const genCode = await generate([]);
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

export default function test(argv: string[]): Promise<number> {
  return pipeline(argv);
}
