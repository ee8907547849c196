import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { envValue } from '../../core/settings.ts';
import { BrowserNotFoundError, chooseChromium } from '../../playwright/browser.ts';
import { outcomeOf, type RecordFile, type ShipgateRecord } from '../../report/model.ts';
import { newRunId, reportDir as reportDirOf, writeRecords } from '../../report/records.ts';
import { bin, firstExisting, interrupted, printHelp, root, run, wantsHelp } from '../run.ts';
import { generateClient } from './generate.ts';
import { report } from './report.ts';

/**
 * `shipgate test [vitest args]`: the project's whole gate in phases, each writing records
 * into one report directory (one run, `SHIPGATE_RUN_ID`), then one report and one exit code.
 * A phase runs only when its config exists in the project.
 *   generate  the project's prisma generate (engine-free), when it has a Prisma schema
 *   unit      Vitest with vitest.config.* (or vite.config.*)
 *   budgets   Vitest with perf/vitest.config.* or vitest.budget.config.*, at the smoke profile
 *             (its own phase: no CPU neighbours while latency is measured)
 *   e2e       Playwright with playwright.config.*
 *   report    merge + console, summary.md, junit.xml, ctrf.json, report.json, index.html
 * `SHIPGATE_PHASES=unit,budgets,e2e` picks phases; with a test filter only `unit` runs by default.
 */
export const summary =
  "the project's whole gate: generate, Vitest, budgets, Playwright E2E, then one report (last line is the summary)";

const EXTS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'];
const named = (...bases: string[]) => bases.flatMap((b) => EXTS.map((e) => `${b}.${e}`));

/** Config files each phase looks for in the project root, first found wins. */
export const PHASE_CONFIGS = {
  unit: named('vitest.config', 'vite.config'),
  budgets: named('perf/vitest.config', 'vitest.budget.config'),
  e2e: named('playwright.config'),
} as const;

const USAGE = `usage: shipgate test [vitest args…]

Runs the project's gate in one report run, each phase only when its config exists:
  generate  prisma generate (engine-free) for the project's Prisma schema
  unit      vitest run with ${PHASE_CONFIGS.unit.slice(0, 2).join(', ')}, … (vite.config.* too)
  budgets   vitest run with perf/vitest.config.* or vitest.budget.config.* at SHIPGATE_BUDGET_PROFILE (default smoke)
  e2e       playwright test with playwright.config.*
  report    console, summary.md, junit.xml, ctrf.json, report.json, index.html in SHIPGATE_REPORT_DIR (default .shipgate/report)
Arguments go to the unit phase's vitest; with a test filter only that phase runs.
  SHIPGATE_PHASES=unit,budgets,e2e   phases to run
exit: by the one policy (SHIPGATE_EXIT_POLICY): 0 passed, 2 failed or error, 1 regression, 3 inconclusive
`;

export const PHASES = ['unit', 'budgets', 'e2e'] as const;
export type Phase = (typeof PHASES)[number];

/** The record files in `<dir>/records`, by name. */
function recordFiles(dir: string): Set<string> {
  const d = path.join(dir, 'records');
  return new Set(existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : []);
}

/**
 * What a finished phase wrote: its record files (those not there before it), how many records
 * they hold, and whether any of them explains a non-zero exit (a failing record or a run error).
 */
function phaseOutput(dir: string, before: Set<string>): { records: number; explainsFailure: boolean } {
  let records = 0;
  let explainsFailure = false;
  for (const f of recordFiles(dir)) {
    if (before.has(f)) continue;
    try {
      const file = JSON.parse(readFileSync(path.join(dir, 'records', f), 'utf8')) as RecordFile;
      records += file.records.length;
      if (file.errors.length > 0 || file.records.some((r) => outcomeOf(r) !== undefined)) explainsFailure = true;
    } catch {
      // An unreadable file is the report's problem to name; it explains nothing here.
    }
  }
  return { records, explainsFailure };
}

function selectedPhases(env: NodeJS.ProcessEnv, hasFilter: boolean): Phase[] {
  const spec = envValue('SHIPGATE_PHASES', env);
  if (!spec) return hasFilter ? ['unit'] : [...PHASES];
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(PHASES as readonly string[]).includes(n));
  if (unknown.length) {
    throw new ConfigError([
      `SHIPGATE_PHASES has unknown phase(s) ${unknown.map((n) => `"${n}"`).join(', ')}; expected a comma-separated list of ${PHASES.join(', ')}`,
    ]);
  }
  return names as Phase[];
}

/** Runs the phases and the report; returns the exit code of the one policy. */
export async function pipeline(vitestArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const fullEnv = { ...process.env, ...env };
  // Checked before the report directory is cleared: a typo must not cost the last report.
  const phases = selectedPhases(
    fullEnv,
    vitestArgs.some((a) => !a.startsWith('-')),
  );
  const reportDir = reportDirOf(fullEnv);
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  // One run: the phases' reporters join it instead of starting their own (and clearing the records).
  const runId = envValue('SHIPGATE_RUN_ID', fullEnv) ?? newRunId();
  const phaseEnv = { ...env, SHIPGATE_REPORT_DIR: reportDir, SHIPGATE_RUN_ID: runId };
  const errors: { source: string; message: string }[] = [];
  const skipped: ShipgateRecord[] = [];
  const startedAt = new Date().toISOString();

  /**
   * Runs one phase. A phase fails the run when it exits non-zero and its records do not say why
   * (a globalSetup that threw, a crash, a config that did not load), or when it ran no test.
   */
  const phase = async (name: string, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const before = recordFiles(reportDir);
    process.stderr.write(`shipgate: phase ${name}\n`);
    const code = await run(cmd, args, { ...phaseEnv, ...extraEnv });
    if (interrupted()) return code;
    const out = phaseOutput(reportDir, before);
    if (code !== 0 && !out.explainsFailure) {
      errors.push({
        source: `phase ${name}`,
        message: `${path.basename(cmd)} exited ${code} and its records name no failure (${out.records} records); see its output above`,
      });
    } else if (out.records === 0 && !out.explainsFailure) {
      errors.push({ source: `phase ${name}`, message: `${path.basename(cmd)} exited ${code} but ran no test` });
    }
    return code;
  };

  const genCode = await generateClient([], { optional: true });
  if (genCode !== 0) {
    errors.push({ source: 'phase generate', message: `prisma generate exited ${genCode}` });
  } else {
    const unitConfig = firstExisting(root, PHASE_CONFIGS.unit);
    if (phases.includes('unit') && unitConfig) {
      await phase('unit', bin('vitest'), ['run', '--config', unitConfig, ...vitestArgs]);
    }
    const budgetConfig = firstExisting(root, PHASE_CONFIGS.budgets);
    if (phases.includes('budgets') && budgetConfig && !interrupted()) {
      await phase('budgets', bin('vitest'), ['run', '--config', budgetConfig], {
        SHIPGATE_BUDGET_PROFILE: envValue('SHIPGATE_BUDGET_PROFILE', fullEnv) ?? 'smoke',
      });
    }
    const e2eConfig = firstExisting(root, PHASE_CONFIGS.e2e);
    if (phases.includes('e2e') && e2eConfig && !interrupted()) {
      let reason: string | undefined;
      try {
        chooseChromium({}, { env: fullEnv });
      } catch (err) {
        if (!(err instanceof BrowserNotFoundError)) throw err;
        reason = err.message;
      }
      if (!reason) {
        await phase('e2e', bin('playwright'), ['test', '--config', e2eConfig]);
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
  const stop = interrupted();
  if (stop) {
    process.stderr.write(`shipgate: interrupted by ${stop.signal}; phases stopped, exiting ${stop.code}\n`);
    return stop.code;
  }
  if (errors.length || skipped.length) {
    writeRecords('shipgate-test', skipped, { errors, startedAt });
  }
  return report({ dirs: [reportDir], env: fullEnv });
}

export default async function test(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) return printHelp(USAGE);
  return pipeline(argv);
}
