import path from 'node:path';
import { parseArgs } from 'node:util';
import { ShipgateError } from '../../core/errors.ts';
import { envValue } from '../../core/settings.ts';
import { mergeReports } from '../../report/merge.ts';
import { parsePolicy } from '../../report/model.ts';
import { reportDir } from '../../report/records.ts';
import { DEFAULT_SINKS, renderReport, resolveSinks } from '../../report/sinks/index.ts';
import { printHelp, wantsHelp } from '../run.ts';

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

/** Exit code of an unusable input: record files that do not parse or validate (sysexits EX_DATAERR). */
export const EXIT_BAD_RECORDS = 65;
/** Exit code of a bad flag, env var or directory (sysexits EX_USAGE). */
export const EXIT_USAGE = 64;

/**
 * Merge and render; returns the exit code of the one policy. A bad policy, sink list or
 * directory (64) and unusable record files (65) are printed together, without a stack.
 */
export async function report(options: ReportOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const dirs = options.dirs?.length ? options.dirs : [reportDir(env)];
  const failures: { err: ShipgateError; exit: number }[] = [];
  const attempt = <T>(fn: () => T, exitOf: (err: ShipgateError) => number): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ShipgateError)) throw err;
      failures.push({ err, exit: exitOf(err) });
      return undefined;
    }
  };
  const usage = () => EXIT_USAGE;
  const policy = attempt(() => parsePolicy(options.policy ?? envValue('SHIPGATE_EXIT_POLICY', env)), usage);
  const sinkNames = options.sinks ?? envValue('SHIPGATE_REPORT_SINKS', env)?.split(',') ?? DEFAULT_SINKS;
  const sinks = attempt(() => resolveSinks(sinkNames.map((s) => s.trim()).filter(Boolean)), usage);
  const merged = attempt(
    () => mergeReports(dirs, { expectShards: options.expectShards }),
    (err) => (err.code === 'SHIPGATE_REPORT_INPUT' ? EXIT_BAD_RECORDS : EXIT_USAGE),
  );
  if (failures.length || !policy || !sinks || !merged) {
    for (const { err } of failures)
      process.stderr.write(`shipgate report: ${err.name} [${err.code}]: ${err.message}\n`);
    return failures.some((f) => f.exit === EXIT_USAGE) ? EXIT_USAGE : EXIT_BAD_RECORDS;
  }
  return renderReport(merged, sinks, {
    outDir: path.resolve(options.outDir ?? dirs[0] ?? reportDir(env)),
    policy,
    env,
    write: options.write,
  });
}

const USAGE = `usage: shipgate report [dir…] [--out dir] [--sinks a,b] [--policy k=v,…] [--expect-shards n]

Merges the record files of one or more report directories (default SHIPGATE_REPORT_DIR, or
.shipgate/report; several for CI shards) and renders them.
  --out dir           where the outputs go (default: the first directory)
  --sinks a,b         ${DEFAULT_SINKS.join(', ')} [SHIPGATE_REPORT_SINKS]
  --policy k=v,…      exit codes per outcome, e.g. regression=0,flaky=2 [SHIPGATE_EXIT_POLICY]
  --expect-shards n   fail when fewer than n shards reported
exit: 0 passed, 2 failed or error, 1 regression, 3 inconclusive (by the policy); 64 usage (a bad
flag, a bad SHIPGATE_* value, a missing or empty directory); 65 record files that are not JSON or
hold invalid records
`;

export default async function reportCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) return printHelp(USAGE);
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
    return EXIT_USAGE;
  }
  return report({
    dirs: positionals,
    outDir: values.out,
    sinks: values.sinks?.split(','),
    policy: values.policy,
    expectShards: expect ? Number(expect) : undefined,
  });
}
