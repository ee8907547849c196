import { parseArgs } from 'node:util';
import {
  explain,
  loadSlos,
  measureSlo,
  PROFILE_NAMES,
  type ProfileName,
  type Slo,
  SloError,
  selectSlos,
  toRecord,
} from '../../budget/index.ts';
import { addServerHistogram, withServerHistogram } from '../../budget/server-histogram.ts';
import { describeError, redactUrl } from '../../core/errors.ts';
import { progress } from '../../core/progress.ts';
import { envValue } from '../../core/settings.ts';
import { exitCodeFor, parsePolicy, type ShipgateRecord } from '../../report/model.ts';
import { writeRecords } from '../../report/records.ts';

/**
 * `shipgate budget --url http://127.0.0.1:3000 --slos perf/example.slo.ts [--only id,…]
 *  [--profile smoke] [--base-url URL] [--rounds N] [--update-baseline] [--baseline-dir DIR]`:
 * measures SLOs against a running server (from a worker thread), compares with the base build
 * (interleaved rounds) or the stored baseline, writes `budget` records, and exits by the one
 * policy: 2 violated, 1 regression, 3 inconclusive, 0 ok.
 */
export const summary = 'measure SLO budgets against a running server; exit 2 violated, 1 regression, 3 inconclusive';

const USAGE =
  'usage: shipgate budget --url <http://host:port> --slos <file[,file]> [--only id,…] [--profile smoke|normal|stress|soak] [--base-url <url>] [--rounds n] [--update-baseline] [--baseline-dir dir] [--metrics-url <url>/metrics]\n';

/** Why `value` is not an http(s) URL (password as `***`), or undefined. */
function httpUrlProblem(value: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    return `is not a URL: "${redactUrl(value)}"`;
  }
  return protocol === 'http:' || protocol === 'https:' ? undefined : `"${redactUrl(value)}" has protocol "${protocol}"`;
}

export default async function budget(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        slos: { type: 'string' },
        only: { type: 'string' },
        profile: { type: 'string' },
        'base-url': { type: 'string' },
        rounds: { type: 'string' },
        'update-baseline': { type: 'boolean' },
        'baseline-dir': { type: 'string' },
        'metrics-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`shipgate budget: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const problems: string[] = [];
  const url = (values.url as string | undefined) ?? envValue('SHIPGATE_BUDGET_URL');
  const slosArg = (values.slos as string | undefined) ?? envValue('SHIPGATE_SLOS');
  if (!url) problems.push('no target: pass --url (or set SHIPGATE_BUDGET_URL)');
  if (!slosArg) problems.push('no SLOs: pass --slos perf/<name>.slo.ts (or set SHIPGATE_SLOS)');
  const metricsUrl = (values['metrics-url'] as string | undefined) ?? envValue('SHIPGATE_METRICS_URL');
  const profile = values.profile as string | undefined;
  if (profile !== undefined && !(PROFILE_NAMES as readonly string[]).includes(profile)) {
    problems.push(`--profile is "${profile}"; expected ${PROFILE_NAMES.join(', ')}`);
  }
  const envProfile = envValue('SHIPGATE_BUDGET_PROFILE');
  if (profile === undefined && envProfile !== undefined && !(PROFILE_NAMES as readonly string[]).includes(envProfile)) {
    problems.push(`SHIPGATE_BUDGET_PROFILE is "${envProfile}"; expected ${PROFILE_NAMES.join(', ')}`);
  }
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 100)) {
    problems.push(`--rounds is "${values.rounds}"; expected an integer from 1 to 100`);
  }
  const envRounds = envValue('SHIPGATE_BUDGET_ROUNDS');
  if (rounds === undefined && envRounds !== undefined && !/^([1-9]\d?|100)$/.test(envRounds)) {
    problems.push(`SHIPGATE_BUDGET_ROUNDS is "${envRounds}"; expected an integer from 1 to 100`);
  }
  const urls: [string, string | undefined][] = [
    [values.url !== undefined ? '--url' : 'SHIPGATE_BUDGET_URL', url],
    ['--base-url', values['base-url'] as string | undefined],
    [values['metrics-url'] !== undefined ? '--metrics-url' : 'SHIPGATE_METRICS_URL', metricsUrl],
  ];
  for (const [source, value] of urls) {
    const problem = value === undefined ? undefined : httpUrlProblem(value);
    if (problem) problems.push(`${source} ${problem}; expected a URL such as http://127.0.0.1:3000`);
  }
  try {
    parsePolicy(envValue('SHIPGATE_EXIT_POLICY'));
  } catch (err) {
    problems.push(describeError(err));
  }
  if (problems.length) {
    process.stderr.write(`shipgate budget: ${problems.join('; ')}.\n${USAGE}`);
    return 64;
  }
  let slos: Slo[];
  try {
    slos = selectSlos(await loadSlos((slosArg as string).split(',')), values.only as string | undefined);
  } catch (err) {
    // A module that does not load (a syntax error, a failing import) is the user's input too.
    const message =
      err instanceof SloError
        ? err.message
        : `SLO module(s) "${slosArg}" failed to load: ${describeError(err)}. Fix the module, or --slos / SHIPGATE_SLOS.`;
    process.stderr.write(`shipgate budget: ${message}\n`);
    return 64;
  }
  const records: ShipgateRecord[] = [];
  const errors: { source: string; message: string }[] = [];
  const startedAt = new Date().toISOString();
  for (const slo of slos) {
    // Budget runs take seconds to minutes: a live line on a TTY, plain lines in CI.
    const shown = progress(`budget "${slo.name}" (${profile ?? 'normal'} profile)`);
    try {
      const run = () =>
        measureSlo(url as string, slo, {
          ...(profile ? { profile: profile as ProfileName } : {}),
          ...(values['base-url'] ? { base: values['base-url'] as string } : {}),
          ...(rounds ? { rounds } : {}),
          ...(values['update-baseline'] ? { updateBaseline: true } : {}),
          ...(values['baseline-dir'] ? { baselineDir: values['baseline-dir'] as string } : {}),
          log: (line) => shown.update(line),
        });
      // With the app's /metrics, the server's own histogram is reported next to client time.
      const { value: result, server } = metricsUrl
        ? await withServerHistogram(metricsUrl, slo, run)
        : { value: await run(), server: undefined };
      shown.done(result.status);
      process.stdout.write(`${explain(result)}\n\n`);
      const record = toRecord(result, { suite: ['shipgate budget'], runner: 'budget-cli' });
      records.push(server ? addServerHistogram(record, server) : record);
      if (server && !('error' in server)) {
        process.stdout.write(
          `  server histogram (${server.n} requests): p50/p95/p99 ${server.p50Ms.toFixed(1)} / ${server.p95Ms.toFixed(1)} / ${server.p99Ms.toFixed(1)} ms\n\n`,
        );
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      shown.fail(message.split('\n')[0] ?? message);
      process.stderr.write(`shipgate budget: ${slo.id}: ${message}\n`);
      errors.push({ source: `budget ${slo.id}`, message });
    }
  }
  writeRecords('budget', records, { startedAt, errors });
  const code = exitCodeFor(records, errors, parsePolicy(envValue('SHIPGATE_EXIT_POLICY')));
  for (const r of records) {
    process.stdout.write(`shipgate budget: ${r.status}${r.regression ? ' (regression)' : ''}  ${r.name}\n`);
  }
  process.stdout.write(`shipgate budget: exit ${code}\n`);
  return code;
}
