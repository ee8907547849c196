import path from 'node:path';
import { parseArgs } from 'node:util';
import { mergeReports } from '../../report/merge.ts';
import { parsePolicy } from '../../report/model.ts';
import { reportDir } from '../../report/records.ts';
import { DEFAULT_SINKS, renderReport, resolveSinks } from '../../report/sinks/index.ts';

/**
 * `shipgate report [dir…] [--out dir] [--sinks a,b] [--policy k=v,…] [--expect-shards n]`:
 * merges report directories (default SHIPGATE_REPORT_DIR, or several CI shards) and renders
 * console, summary.md, junit.xml, ctrf.json, report.json and index.html. Exits by the policy.
 */
export const summary = 'merge report directories (or CI shards) and render console, Markdown, JUnit, CTRF, JSON, HTML';

export interface ReportOptions {
  dirs?: string[];
  outDir?: string;
  sinks?: string[];
  policy?: string;
  expectShards?: number;
  env?: NodeJS.ProcessEnv;
  write?: (text: string) => void;
}

/** Merge and render; returns the exit code of the one policy. */
export async function report(options: ReportOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const dirs = options.dirs?.length ? options.dirs : [reportDir(env)];
  const merged = mergeReports(dirs, { expectShards: options.expectShards });
  const sinkNames = options.sinks ?? (env.SHIPGATE_REPORT_SINKS ? env.SHIPGATE_REPORT_SINKS.split(',') : DEFAULT_SINKS);
  const policy = parsePolicy(options.policy ?? env.SHIPGATE_EXIT_POLICY);
  return renderReport(merged, resolveSinks(sinkNames.map((s) => s.trim()).filter(Boolean)), {
    outDir: path.resolve(options.outDir ?? dirs[0] ?? reportDir(env)),
    policy,
    env,
    write: options.write,
  });
}

export default async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      sinks: { type: 'string' },
      policy: { type: 'string' },
      'expect-shards': { type: 'string' },
    },
  });
  const expect = values['expect-shards'];
  if (expect !== undefined && !/^[1-9]\d*$/.test(expect)) {
    process.stderr.write(`shipgate report: --expect-shards is "${expect}"; expected a positive integer.\n`);
    return 64;
  }
  return report({
    dirs: positionals,
    outDir: values.out,
    sinks: values.sinks?.split(','),
    policy: values.policy,
    expectShards: expect ? Number(expect) : undefined,
  });
}
