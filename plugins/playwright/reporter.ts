import path from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';
import type { ShipgateRecord } from '../report/model.ts';
import { recordId, writeRecords } from '../report/records.ts';

/**
 * The Playwright reporter: every E2E test becomes a record (kind `e2e`) in the unified model.
 * A test that passed on retry is `flaky`, never silently passed; failures carry their trace,
 * screenshot and server-log attachments.
 */
export default class ShipgatePlaywrightReporter implements Reporter {
  private rootDir = process.cwd();
  private startedAt = new Date().toISOString();
  private suite: Suite | undefined;
  private readonly errors: { source: string; message: string }[] = [];

  onBegin(config: FullConfig, suite: Suite): void {
    this.rootDir = config.rootDir;
    this.suite = suite;
    this.startedAt = new Date().toISOString();
  }

  onError(error: { message?: string }): void {
    this.errors.push({ source: 'playwright', message: error.message ?? 'unknown error' });
  }

  printsToStdio(): boolean {
    return false;
  }

  private toRecord(test: TestCase): ShipgateRecord {
    const results: TestResult[] = test.results;
    const last = results[results.length - 1];
    const outcome = test.outcome();
    const status: ShipgateRecord['status'] =
      outcome === 'flaky' ? 'flaky' : outcome === 'skipped' ? 'skipped' : outcome === 'expected' ? 'passed' : 'failed';
    // titlePath: ['', project, file, ...describes, title]
    const titles = test.titlePath().slice(3, -1);
    const file = path.relative(process.cwd(), test.location.file);
    const failed = results.find((r) => r.status === 'failed' || r.status === 'timedOut');
    const error = (status === 'failed' ? last : failed)?.error;
    const attachments = results.flatMap((r) =>
      r.attachments
        .filter((a) => a.path)
        .map((a) => ({
          name: `${a.name} (attempt ${r.retry + 1})`,
          path: a.path as string,
          contentType: a.contentType,
        })),
    );
    const project = test.parent.project()?.name;
    return {
      id: recordId('e2e', file, titles, test.title),
      kind: 'e2e',
      runner: 'playwright',
      name: test.title,
      suite: project ? [project, ...titles] : titles,
      status,
      durationMs: results.reduce((a, r) => a + r.duration, 0),
      file,
      line: test.location.line,
      ...(error ? { message: error.message?.split('\n')[0] ?? 'failed', stack: error.stack } : {}),
      ...(results.length > 1 ? { retries: results.length - 1 } : {}),
      ...(attachments.length ? { attachments } : {}),
    };
  }

  onEnd(result: FullResult): void {
    const tests = this.suite?.allTests() ?? [];
    if (result.status === 'interrupted') this.errors.push({ source: 'playwright', message: 'the run was interrupted' });
    if (result.status === 'timedout')
      this.errors.push({ source: 'playwright', message: 'the run hit its global timeout' });
    writeRecords(
      'playwright',
      tests.map((t) => this.toRecord(t)),
      {
        startedAt: this.startedAt,
        finishedAt: new Date().toISOString(),
        errors: this.errors,
      },
    );
  }
}
