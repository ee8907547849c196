import path from 'node:path';
import type { Reporter, TestCase, TestModule, TestRunEndReason, Vitest } from 'vitest/node';
import type { ShipgateRecord } from '../report/model.ts';
import { beginRun, clearRecords, recordId, writeRecords } from '../report/records.ts';

/**
 * Reporter for the budget phase (`perf/vitest.config.ts`). `measure()` already wrote a
 * `budget` record for each test it measured: passed, failed, inconclusive, or with a
 * regression flag. This reporter adds records only for what no budget record covers: tests
 * that never measured, tests that failed for another reason than their budget (an exception,
 * another assertion), and errors outside any test. So a budget test does not count twice, and
 * an inconclusive budget or a regression keeps its own exit code (3, 1) instead of 2.
 * With `scope: 'measured'` (how the plugin registers it, next to the unified reporter) it looks
 * only at tests that called `measure()`, and leaves the others and run errors to that reporter.
 */
export default class BudgetPhaseReporter implements Reporter {
  private startedAt = new Date().toISOString();
  private readonly scope: 'all' | 'measured';
  private ownsRun = false;

  constructor(options: { scope?: 'all' | 'measured' } = {}) {
    this.scope = options.scope ?? 'all';
  }

  onInit(_vitest: Vitest): void {
    this.startedAt = new Date().toISOString();
    // Alone (a budget phase's only reporter) it starts the run, as the unified reporter does.
    if (this.scope === 'all') this.ownsRun = beginRun();
  }

  onTestRunStart(): void {
    if (this.ownsRun) clearRecords();
  }

  private record(t: TestCase, root: string): ShipgateRecord | undefined {
    const r = t.result();
    const owned = measuredByBudget(t);
    if (this.scope === 'measured' && !owned) return undefined;
    const budgetFailure = r.state === 'failed' && r.errors.every((e) => /^Budget "/.test(e.message ?? ''));
    if (owned && (r.state === 'passed' || budgetFailure)) return undefined;
    const suite: string[] = [];
    for (let p: TestCase['parent'] | undefined = t.parent; p && p.type === 'suite'; p = p.parent) suite.unshift(p.name);
    const file = path.relative(root, t.module.moduleId);
    const error = r.state === 'failed' ? r.errors[0] : undefined;
    return {
      id: recordId('budget', file, suite, `${t.name} (test)`),
      kind: 'budget',
      runner: 'vitest',
      name: t.name,
      suite,
      status: r.state === 'passed' ? 'passed' : r.state === 'failed' ? 'failed' : 'skipped',
      durationMs: t.diagnostic()?.duration ?? 0,
      file,
      ...(error
        ? { message: error.message, stack: error.stack }
        : r.state === 'skipped' && r.note
          ? { message: r.note }
          : {}),
    };
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<unknown>, reason: TestRunEndReason): void {
    const root = process.cwd();
    const records: ShipgateRecord[] = [];
    const errors: { source: string; message: string }[] = [];
    for (const mod of modules) {
      for (const t of mod.children.allTests()) {
        const rec = this.record(t, root);
        if (rec) records.push(rec);
      }
      if (this.scope === 'measured') continue;
      for (const e of mod.errors())
        errors.push({ source: `vitest ${path.relative(root, mod.moduleId)}`, message: e.message });
    }
    if (this.scope === 'measured') {
      if (records.length) writeRecords('vitest-budget', records, { startedAt: this.startedAt });
      return;
    }
    for (const e of unhandled)
      errors.push({ source: 'vitest (unhandled)', message: (e as { message?: string }).message ?? String(e) });
    if (reason === 'interrupted') errors.push({ source: 'vitest', message: 'the budget run was interrupted' });
    writeRecords('vitest-budget', records, { startedAt: this.startedAt, finishedAt: new Date().toISOString(), errors });
  }
}

/** True when test `t` called `measure()`: its budget records speak for it. */
export function measuredByBudget(t: TestCase): boolean {
  return (t.meta().shipgateBudget?.recordIds.length ?? 0) > 0;
}
