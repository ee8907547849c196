import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

/** Counts by status for one runner, written to the report directory for `shipgate test`. */
export interface RunCounts {
  runner: string;
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
  /** Files or global errors that failed outside any test. */
  errors: number;
  reason: string;
}

/** Report directory: `SHIPGATE_REPORT_DIR`, default `.shipgate/report`. */
export function reportDir(): string {
  return path.resolve(process.env.SHIPGATE_REPORT_DIR ?? '.shipgate/report');
}

/** Vitest reporter `shipgate:vitest-reporter`: writes `vitest.counts.json` to the report directory. */
export default class ShipgateVitestReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>, reason: TestRunEndReason): void {
    const counts: RunCounts = {
      runner: 'vitest',
      passed: 0,
      failed: 0,
      skipped: 0,
      flaky: 0,
      errors: errors.length,
      reason,
    };
    for (const mod of modules) {
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) counts.errors += 1;
      for (const t of mod.children.allTests()) {
        const r = t.result();
        if (r.state === 'passed') {
          if (t.diagnostic()?.flaky) counts.flaky += 1;
          else counts.passed += 1;
        } else if (r.state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
    }
    const dir = reportDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'vitest.counts.json'), `${JSON.stringify(counts, null, 2)}\n`);
  }
}
