import path from 'node:path';
import type { Reporter, TestCase, TestModule, TestRunEndReason, Vitest } from 'vitest/node';
import type { RecordKind, ShipgateRecord } from '../report/model.ts';
import { beginRun, clearRecords, recordId, writeRecords } from '../report/records.ts';
import { measuredByBudget } from './budget-reporter.ts';

/**
 * The Vitest reporter (`shipgate:vitest-reporter`): every test becomes a record in the
 * unified model, written to the report directory when the run ends, together with errors
 * raised outside any test (a file that failed to load, a failing hook, unhandled rejections).
 * A run started outside `shipgate test` (no `SHIPGATE_RUN_ID`) starts its records clean.
 * `skipMeasured` (set by the plugin, which also registers the budget reporter) leaves tests
 * that called `measure()` to their budget records.
 */
export default class ShipgateVitestReporter implements Reporter {
  private vitest: Vitest | undefined;
  private startedAt = new Date().toISOString();
  private readonly kind: RecordKind;
  private readonly producer: string;
  private readonly skipMeasured: boolean;
  private ownsRun = false;

  constructor(options: { kind?: RecordKind; producer?: string; skipMeasured?: boolean } = {}) {
    this.kind = options.kind ?? 'test';
    this.producer = options.producer ?? 'vitest';
    this.skipMeasured = options.skipMeasured ?? false;
  }

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
    this.startedAt = new Date().toISOString();
    this.ownsRun = beginRun();
  }

  onTestRunStart(): void {
    // Before any worker writes a budget record; in watch mode, before each rerun.
    if (this.ownsRun) clearRecords();
    this.startedAt = new Date().toISOString();
  }

  private schemaVersion(): string | undefined {
    for (const project of this.vitest?.projects ?? []) {
      const runtime = project.getProvidedContext().shipgate as { templateHash?: string } | undefined;
      if (runtime?.templateHash) return runtime.templateHash;
    }
    return undefined;
  }

  private toRecord(t: TestCase, root: string): ShipgateRecord {
    const suite: string[] = [];
    for (let p: TestCase['parent'] | undefined = t.parent; p && p.type === 'suite'; p = p.parent) suite.unshift(p.name);
    const file = path.relative(root, t.module.moduleId);
    const r = t.result();
    const d = t.diagnostic();
    const retries = d?.retryCount ?? 0;
    const status: ShipgateRecord['status'] =
      r.state === 'passed' ? (d?.flaky ? 'flaky' : 'passed') : r.state === 'failed' ? 'failed' : 'skipped';
    const error = r.state === 'failed' ? r.errors[0] : undefined;
    const note = r.state === 'skipped' ? r.note : undefined;
    // What the query check saw (fixtures/vitest.ts): counts and shapes per request, or why it was off.
    const queries = t.meta().shipgateQueries;
    return {
      id: recordId(this.kind, file, suite, t.name),
      kind: this.kind,
      runner: 'vitest',
      name: t.name,
      suite,
      status,
      durationMs: d?.duration ?? 0,
      file,
      ...(t.location?.line ? { line: t.location.line } : {}),
      ...(error ? { message: error.message, stack: error.stack } : note ? { message: note } : {}),
      ...(retries ? { retries } : {}),
      ...(queries ? { evidence: { queries } } : {}),
    };
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<unknown>, reason: TestRunEndReason): void {
    // Paths relative to where the run started (the repo root), like the other adapters.
    const root = process.cwd();
    const records: ShipgateRecord[] = [];
    const errors: { source: string; message: string }[] = [];
    for (const mod of modules) {
      const tests = [...mod.children.allTests()];
      for (const t of tests) if (!(this.skipMeasured && measuredByBudget(t))) records.push(this.toRecord(t, root));
      // A file that failed to load or whose hooks failed has errors outside any test.
      for (const e of mod.errors()) {
        errors.push({ source: `vitest ${path.relative(root, mod.moduleId)}`, message: e.message });
      }
    }
    for (const e of unhandled) {
      errors.push({ source: 'vitest (unhandled)', message: (e as { message?: string }).message ?? String(e) });
    }
    if (reason === 'interrupted') errors.push({ source: 'vitest', message: 'the run was interrupted' });
    writeRecords(this.producer, records, {
      schemaVersion: this.schemaVersion(),
      startedAt: this.startedAt,
      finishedAt: new Date().toISOString(),
      errors,
    });
  }
}
