import { mkdirSync } from 'node:fs';
import { ConfigError, describeError } from '../../core/errors.ts';
import { configuredSecrets, redactDeep, redactSecrets } from '../../core/redact.ts';
import { alertSink } from '../alert.ts';
import type { MergedReport } from '../merge.ts';
import { DEFAULT_POLICY, type ExitPolicy } from '../model.ts';
import { countRecords } from '../summary.ts';
import { consoleSink } from './console.ts';
import { ctrfSink } from './ctrf.ts';
import { htmlSink } from './html.ts';
import { jsonSink } from './json.ts';
import { junitSink } from './junit.ts';
import { markdownSink } from './markdown.ts';
import type { Sink, SinkContext } from './sink.ts';

export type { Sink, SinkContext } from './sink.ts';

/** The built-in sinks by name. */
export const SINKS: Readonly<Record<string, Sink>> = {
  json: jsonSink,
  junit: junitSink,
  ctrf: ctrfSink,
  markdown: markdownSink,
  html: htmlSink,
  alert: alertSink,
  console: consoleSink,
};

/** Default sinks; env `SHIPGATE_REPORT_SINKS` (comma-separated) overrides. */
export const DEFAULT_SINKS = ['json', 'junit', 'ctrf', 'markdown', 'html', 'alert', 'console'];

/** Resolves sink names, rejecting unknown ones with the list of known ones. */
export function resolveSinks(names: readonly string[], extra: readonly Sink[] = []): Sink[] {
  const known: Record<string, Sink> = { ...SINKS, ...Object.fromEntries(extra.map((s) => [s.name, s])) };
  const unknown = names.filter((n) => !known[n]);
  if (unknown.length) {
    throw new ConfigError([
      `Unknown report sink(s) ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${Object.keys(known).join(', ')}. Fix SHIPGATE_REPORT_SINKS or --sinks.`,
    ]);
  }
  return names.map((n) => known[n] as Sink);
}

/**
 * Runs every sink, like Playwright's multiplexer: one broken sink cannot break the run or the
 * others; its error is recorded in `report.reporterErrors` (shown by the console sink, which
 * always runs last so the summary line stays the last line). Every sink sees the report with
 * URL passwords and configured secrets replaced by `***` (core/redact.ts). Returns the exit code.
 */
export async function renderReport(
  report: MergedReport,
  sinks: readonly Sink[],
  options: { outDir: string; policy?: ExitPolicy; env?: NodeJS.ProcessEnv; write?: (text: string) => void },
): Promise<number> {
  mkdirSync(options.outDir, { recursive: true });
  const secrets = configuredSecrets(options.env ?? process.env);
  const safe = redactDeep(report, secrets);
  const policy = options.policy ?? DEFAULT_POLICY;
  const counts = countRecords(safe, policy);
  const ctx: SinkContext = {
    outDir: options.outDir,
    policy,
    counts,
    env: options.env ?? process.env,
    write: options.write ?? ((t) => process.stdout.write(t)),
  };
  const ordered = [...sinks.filter((s) => s.name !== 'console'), ...sinks.filter((s) => s.name === 'console')];
  for (const sink of ordered) {
    try {
      await sink.render(safe, ctx);
    } catch (err) {
      const failure = { sink: sink.name, message: redactSecrets(describeError(err), secrets) };
      safe.reporterErrors.push(failure);
      report.reporterErrors.push(failure);
    }
  }
  return counts.exitCode;
}
