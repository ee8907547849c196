import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BrowserNotFoundError, chooseChromium } from '../../playwright/browser.ts';
import type { ShipgateRecord } from '../../report/model.ts';
import { reportDir as reportDirOf, writeRecords } from '../../report/records.ts';
import { bin, root, run } from '../run.ts';
import generate from './generate.ts';
import { report } from './report.ts';

/**
 * `shipgate test [vitest args]`: the whole gate in phases, each writing records into one
 * report directory, then one report and one exit code.
 *   generate  prisma generate (engine-free)
 *   unit      Vitest: lint, format, types, unit, integration, migration smoke specs
 *   budgets   Vitest with perf/vitest.config.ts at the smoke profile (own phase: no CPU neighbours)
 *   e2e       Playwright with playwright.config.ts
 *   report    merge + console, summary.md, junit.xml, ctrf.json, report.json, index.html
 * `SHIPGATE_PHASES=unit,budgets,e2e` picks phases; with a test filter only `unit` runs by default.
 */
export const summary =
  'the whole gate: generate, Vitest, budgets, Playwright E2E, then one report (last line is the summary)';

export const PHASES = ['unit', 'budgets', 'e2e'] as const;
export type Phase = (typeof PHASES)[number];

function recordCount(dir: string): number {
  const d = path.join(dir, 'records');
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).length : 0;
}

function selectedPhases(env: NodeJS.ProcessEnv, hasFilter: boolean): Phase[] {
  const spec = env.SHIPGATE_PHASES;
  if (!spec) return hasFilter ? ['unit'] : [...PHASES];
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(PHASES as readonly string[]).includes(n));
  if (unknown.length) {
    throw new Error(`SHIPGATE_PHASES has unknown phase(s) ${unknown.join(', ')}; known: ${PHASES.join(', ')}.`);
  }
  return names as Phase[];
}

/** Runs the phases and the report; returns the exit code of the one policy. */
export async function pipeline(vitestArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const fullEnv = { ...process.env, ...env };
  const reportDir = reportDirOf(fullEnv);
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const phaseEnv = { ...env, SHIPGATE_REPORT_DIR: reportDir };
  const phases = selectedPhases(
    fullEnv,
    vitestArgs.some((a) => !a.startsWith('-')),
  );
  const errors: { source: string; message: string }[] = [];
  const skipped: ShipgateRecord[] = [];
  const startedAt = new Date().toISOString();

  /** Runs one phase; a non-zero exit that wrote no records is a run error (it crashed). */
  const phase = async (name: string, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const before = recordCount(reportDir);
    process.stderr.write(`shipgate: phase ${name}\n`);
    const code = await run(cmd, args, { ...phaseEnv, ...extraEnv });
    if (code !== 0 && recordCount(reportDir) === before) {
      errors.push({ source: `phase ${name}`, message: `exited ${code} without writing any results` });
    }
    return code;
  };

  const genCode = await generate([]);
  if (genCode !== 0) {
    errors.push({ source: 'phase generate', message: `prisma generate exited ${genCode}` });
  } else {
    if (phases.includes('unit')) await phase('unit', bin('vitest'), ['run', ...vitestArgs]);
    if (phases.includes('budgets')) {
      const config = path.join(root, 'perf', 'vitest.config.ts');
      if (existsSync(config)) {
        await phase('budgets', bin('vitest'), ['run', '--config', config], {
          SHIPGATE_BUDGET_PROFILE: fullEnv.SHIPGATE_BUDGET_PROFILE ?? 'smoke',
        });
      }
    }
    if (phases.includes('e2e') && existsSync(path.join(root, 'playwright.config.ts'))) {
      let reason: string | undefined;
      try {
        chooseChromium({}, { env: fullEnv });
      } catch (err) {
        if (!(err instanceof BrowserNotFoundError)) throw err;
        reason = err.message;
      }
      if (!reason) {
        await phase('e2e', bin('playwright'), ['test']);
      } else {
        skipped.push({
          id: 'e2e › playwright',
          kind: 'e2e',
          runner: 'playwright',
          name: 'Playwright E2E flows',
          suite: [],
          status: 'skipped',
          durationMs: 0,
          message: reason,
        });
      }
    }
  }
  if (errors.length || skipped.length) {
    writeRecords('shipgate-test', skipped, { errors, startedAt });
  }
  return report({ dirs: [reportDir], env: fullEnv });
}

export default function test(argv: string[]): Promise<number> {
  return pipeline(argv);
}
