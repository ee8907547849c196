import path from 'node:path';
import { expect, TestRunner } from 'vitest';
import {
  type BudgetResult,
  explain,
  headline,
  type MeasureOptions,
  measureSlo,
  type Slo,
  type Target,
  toRecord,
} from '../budget/index.ts';
import { envValue } from '../core/settings.ts';
import { writeRecords } from '../report/records.ts';

/**
 * Performance budgets in Vitest:
 *
 *   const result = await measure(app, slo);   // app, http.Server or URL
 *   expect(result).toMeetBudget();
 *
 * `measure` runs the SLO at `SHIPGATE_BUDGET_PROFILE` (default `normal`) from a worker
 * thread, writes a `budget` record for the unified report, and marks the test so the budget
 * phase's reporter (`budget-reporter.ts`) lets that record speak for it: an inconclusive
 * budget then exits 3 and a regression 1, not 2 like any failed test.
 */

/** What the budget adapter stores on a test it measured (`task.meta.shipgateBudget`). */
export interface BudgetTaskMeta {
  recordIds: string[];
}

declare module 'vitest' {
  interface TaskMeta {
    shipgateBudget?: BudgetTaskMeta;
  }
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> {
    /**
     * Passes when every budget of the result was met with enough evidence, and no regression
     * was proven. Fails for a violated SLO, an inconclusive result, or a regression (unless
     * `{ regression: 'ignore' }`). The message says which metric failed, value vs budget, n,
     * the slowest requests with trace ids and server-side time.
     */
    toMeetBudget(options?: ToMeetBudgetOptions): R;
  }
}

export interface ToMeetBudgetOptions {
  /** `fail` (default): a proven regression fails the test. `ignore`: only the SLO counts. */
  regression?: 'fail' | 'ignore';
}

export interface VitestMeasureOptions extends MeasureOptions {
  /** Write a report record (default true). */
  record?: boolean;
}

/**
 * Measures `target` against `slo` (see `measureSlo`). `base` defaults to
 * `SHIPGATE_BUDGET_BASE_URL`, for interleaved A/B rounds against a running base build.
 */
export async function measure(
  target: Target | unknown,
  slo: Slo,
  options: VitestMeasureOptions = {},
): Promise<BudgetResult> {
  const base = envValue('SHIPGATE_BUDGET_BASE_URL') ?? options.base;
  const result = await measureSlo(target as Target, slo, { ...options, ...(base !== undefined ? { base } : {}) });
  if (options.record !== false) {
    const state = expect.getState();
    const parts = state.currentTestName ? state.currentTestName.split(' > ') : [];
    const testName = parts.pop();
    const file = state.testPath ? path.relative(process.cwd(), state.testPath) : undefined;
    // Named after the test; a test measuring an SLO of another name keeps both.
    const suite = testName && testName !== result.name ? [...parts, testName] : parts;
    const record = toRecord(result, { file, suite, name: result.name, runner: 'vitest-budget' });
    writeRecords('budget', [record]);
    const task = TestRunner.getCurrentTest();
    if (task) {
      task.meta.shipgateBudget = { recordIds: [...(task.meta.shipgateBudget?.recordIds ?? []), record.id] };
    }
  }
  return result;
}

function isBudgetResult(v: unknown): v is BudgetResult {
  return typeof v === 'object' && v !== null && 'verdict' in v && 'measurement' in v && 'sloId' in v;
}

expect.extend({
  toMeetBudget(received: unknown, options: ToMeetBudgetOptions = {}) {
    if (!isBudgetResult(received)) {
      return {
        pass: false,
        message: () => `toMeetBudget() expects the result of measure(app, slo), got ${typeof received}`,
      };
    }
    const regressed = received.regression?.regression === true && options.regression !== 'ignore';
    const pass = received.status === 'passed' && !regressed;
    return {
      pass,
      message: () =>
        pass
          ? `Budget "${received.name}" was met, expected it not to be:\n${explain(received)}`
          : `${headline(received)}\n\n${explain(received)}`,
    };
  },
});

export type { BudgetResult, Slo } from '../budget/index.ts';
export { defineSlo } from '../budget/index.ts';
