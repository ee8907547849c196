import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageVersion } from '../../core/own-files.ts';
import type { ShipgateRecord } from '../model.ts';
import type { Sink } from './sink.ts';

/**
 * `ctrf.json`, valid against the CTRF schema (shared/schemas/ctrf.schema.json). Unknown fields
 * are rejected at every level there, so shipgate's own data goes under `extra`.
 */
const SPEC_VERSION = '0.0.0';

const shipgateVersion = packageVersion;

function ctrfStatus(r: ShipgateRecord): 'passed' | 'failed' | 'skipped' | 'other' {
  if (r.status === 'flaky') return 'passed';
  if (r.status === 'inconclusive') return 'other';
  return r.status;
}

function ctrfTest(r: ShipgateRecord) {
  return {
    testId: r.id,
    name: [...r.suite, r.name].join(' › '),
    status: ctrfStatus(r),
    duration: Math.round(r.durationMs),
    ...(r.suite.length ? { suite: r.suite } : {}),
    ...(r.message ? { message: r.message } : {}),
    ...(r.stack ? { trace: r.stack } : {}),
    ...(r.line !== undefined ? { line: r.line } : {}),
    rawStatus: r.regression ? `${r.status}+regression` : r.status,
    type: r.kind,
    ...(r.file ? { filePath: r.file } : {}),
    ...(r.retries !== undefined ? { retries: r.retries } : {}),
    flaky: r.status === 'flaky',
    tags: [r.kind, r.runner, ...(r.regression ? ['regression'] : [])],
    ...(r.attachments?.length
      ? { attachments: r.attachments.map((a) => ({ name: a.name, contentType: a.contentType, path: a.path })) }
      : {}),
    extra: {
      shipgate: {
        runner: r.runner,
        status: r.status,
        regression: r.regression ?? false,
        metrics: r.metrics ?? {},
        budgets: r.budgets ?? {},
        evidence: r.evidence ?? {},
      },
    },
  };
}

export const ctrfSink: Sink = {
  name: 'ctrf',
  render(report, { outDir, counts }) {
    const tests = report.records.map(ctrfTest);
    const start = Date.parse(report.startedAt);
    const stop = Date.parse(report.finishedAt);
    const doc = {
      reportFormat: 'CTRF',
      specVersion: SPEC_VERSION,
      reportId: randomUUID(),
      timestamp: new Date().toISOString(),
      generatedBy: 'shipgate',
      results: {
        tool: { name: 'shipgate', version: shipgateVersion() },
        summary: {
          tests: tests.length,
          passed: tests.filter((t) => t.status === 'passed').length,
          failed: tests.filter((t) => t.status === 'failed').length,
          skipped: tests.filter((t) => t.status === 'skipped').length,
          pending: 0,
          other: tests.filter((t) => t.status === 'other').length,
          flaky: counts.flaky,
          start: Number.isFinite(start) ? start : Date.now(),
          stop: Number.isFinite(stop) ? stop : Date.now(),
        },
        tests,
      },
      extra: {
        shipgate: {
          commit: report.commit ?? null,
          schemaVersion: report.schemaVersion ?? null,
          exitCode: counts.exitCode,
          regressions: counts.regressions,
          inconclusive: counts.inconclusive,
          errors: report.errors,
          shards: report.shards,
        },
      },
    };
    writeFileSync(path.join(outDir, 'ctrf.json'), `${JSON.stringify(doc, null, 2)}\n`);
  },
};
