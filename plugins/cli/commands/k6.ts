import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  explain,
  loadSlos,
  PROFILE_NAMES,
  type ProfileName,
  type Slo,
  SloError,
  selectSlos,
  toRecord,
} from '../../budget/index.ts';
import { describeError, ShipgateError } from '../../core/errors.ts';
import { envValue } from '../../core/settings.ts';
import {
  findK6,
  generateK6Script,
  type K6Run,
  type K6Summary,
  k6Results,
  runK6,
  testRunManifest,
} from '../../k6/index.ts';
import { readK6Summary } from '../../k6/summary.ts';
import { exitCodeFor, parsePolicy, type ShipgateRecord } from '../../report/model.ts';
import { recordId, reportDir, writeRecords } from '../../report/records.ts';
import { wantsHelp } from '../run.ts';

/**
 * `shipgate k6 <generate|run|parse|manifest>`: k6 from the same SLOs.
 *   generate --slos f [--only ids] [--profile p] [--out perf/k6]    one script per SLO
 *   run      --slos f --url URL [--only ids] [--profile p]          k6 run --no-usage-report; records; exit by policy
 *            (a run k6 left without a readable summary is a failed record; the other SLOs still run)
 *   parse    <summary.json…> [--slos f] [--profile p]               either summary shape → records; exit by policy
 *            (a file that is not a k6 summary: SHIPGATE_K6_SUMMARY error, exit 1, no records)
 *   manifest --slos f --only id --url URL [--parallelism n] [--namespace ns] [--out file]   k6-operator TestRun
 */
export const summary =
  'k6 from the same SLOs: generate scripts, run (K6_BIN/PATH), parse summaries, k6-operator TestRun';

const USAGE = `usage: shipgate k6 generate --slos <file[,file]> [--only ids] [--profile p] [--out perf/k6]
       shipgate k6 run --slos <file[,file]> --url <http://host:port> [--only ids] [--profile p]
       shipgate k6 parse <summary.json…> [--slos <file[,file]>] [--profile p]
       shipgate k6 manifest --slos <file[,file]> --only <id> --url <url> [--parallelism 4] [--namespace ns] [--out file]
`;

type Values = Record<string, string | boolean | undefined>;

function fail(message: string): number {
  process.stderr.write(`shipgate k6: ${message}\n${USAGE}`);
  return 64;
}

async function slosFrom(values: Values, required: boolean): Promise<Slo[] | string> {
  const arg = (values.slos as string | undefined) ?? envValue('SHIPGATE_SLOS');
  if (!arg) return required ? 'no SLOs: pass --slos perf/<name>.slo.ts (or set SHIPGATE_SLOS)' : [];
  try {
    return selectSlos(await loadSlos(arg.split(',')), values.only as string | undefined);
  } catch (err) {
    if (err instanceof SloError) return (err as Error).message;
    // A module that does not load (a syntax error, a failing import) is the user's input too.
    return `SLO module(s) "${arg}" failed to load: ${describeError(err)}. Fix the module, or --slos / SHIPGATE_SLOS`;
  }
}

function profileFrom(values: Values): ProfileName | string {
  const source = values.profile !== undefined ? '--profile' : 'SHIPGATE_BUDGET_PROFILE';
  const p = (values.profile as string | undefined) ?? envValue('SHIPGATE_BUDGET_PROFILE') ?? 'normal';
  return (PROFILE_NAMES as readonly string[]).includes(p)
    ? (p as ProfileName)
    : `${source} is "${p}"; expected ${PROFILE_NAMES.join(', ')}`;
}

function finish(records: ShipgateRecord[], errors: { source: string; message: string }[], startedAt: string): number {
  writeRecords('k6', records, { startedAt, errors });
  const code = exitCodeFor(records, errors, parsePolicy(envValue('SHIPGATE_EXIT_POLICY')));
  for (const r of records)
    process.stdout.write(`shipgate k6: ${r.status}${r.regression ? ' (regression)' : ''}  ${r.name}\n`);
  process.stdout.write(`shipgate k6: exit ${code}\n`);
  return code;
}

/** The last lines of k6's output, for a broken run's evidence. */
const tail = (output: string, lines = 20) => output.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Why a k6 run yielded no verdict for `slo`, one message naming the SLO, what k6 did and the fix;
 * undefined when the run can be judged.
 */
function brokenRun(slo: Slo, run: K6Run, binary: string): string | undefined {
  if (run.meaning.kind === 'error') {
    const summary = run.summaryError
      ? ` Its summary is unusable too: ${run.summaryError.message}`
      : run.summary
        ? ''
        : ' It wrote no summary.';
    return `k6 run for SLO "${slo.id}" did not complete: ${run.meaning.text}.${summary} Fix what k6's output says (in this record's evidence.k6Output), then re-run \`shipgate k6 run\`.`;
  }
  if (run.summaryError) return `k6 run for SLO "${slo.id}": ${run.summaryError.message}`;
  if (!run.summary) {
    return `k6 run for SLO "${slo.id}" wrote no summary: neither "${run.summaryFile}" (handleSummary) nor "${run.exportFile}" (--summary-export) exists after ${run.meaning.text}. Check that K6_BIN / PATH ("${binary}") is k6 and that the script's handleSummary is intact, then re-run \`shipgate k6 run\`.`;
  }
  return undefined;
}

/** A failed record for an SLO whose k6 run could not be judged: the gate must not pass on it. */
function brokenRecord(slo: Slo, message: string, durationMs: number, run?: K6Run): ShipgateRecord {
  const file = run && [run.summaryFile, run.exportFile].find((f) => existsSync(f));
  return {
    id: recordId('load', undefined, ['k6'], slo.name),
    kind: 'load',
    runner: 'k6',
    name: slo.name,
    suite: ['k6'],
    status: 'failed',
    durationMs,
    message,
    evidence: {
      sloId: slo.id,
      endpoint: `${slo.endpoint.method} ${slo.endpoint.path}`,
      ...(run ? { k6Exit: run.code, k6Output: tail(run.output) } : {}),
      ...(run?.summaryError ? { error: run.summaryError.code } : {}),
    },
    ...(file ? { attachments: [{ name: 'k6 summary', path: file, contentType: 'application/json' }] } : {}),
  };
}

export default async function k6(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return sub === undefined ? 64 : 0;
  }
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        slos: { type: 'string' },
        only: { type: 'string' },
        profile: { type: 'string' },
        out: { type: 'string' },
        url: { type: 'string' },
        parallelism: { type: 'string' },
        namespace: { type: 'string' },
      },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  const profile = profileFrom(values);
  if (!(PROFILE_NAMES as readonly string[]).includes(profile)) return fail(profile);
  // Checked before any load is generated, not after: a bad policy must not waste a run.
  try {
    parsePolicy(envValue('SHIPGATE_EXIT_POLICY'));
  } catch (err) {
    return fail(describeError(err));
  }
  const startedAt = new Date().toISOString();

  if (sub === 'generate') {
    const slos = await slosFrom(values, true);
    if (typeof slos === 'string') return fail(slos);
    const out = path.resolve((values.out as string | undefined) ?? 'perf/k6');
    mkdirSync(out, { recursive: true });
    for (const slo of slos) {
      const file = path.join(out, `${slo.id}.js`);
      writeFileSync(file, generateK6Script([slo], { profile: profile as ProfileName, name: slo.id }));
      process.stdout.write(`shipgate k6: wrote ${path.relative(process.cwd(), file)}\n`);
    }
    return 0;
  }

  if (sub === 'run') {
    const slos = await slosFrom(values, true);
    if (typeof slos === 'string') return fail(slos);
    const url = (values.url as string | undefined) ?? envValue('SHIPGATE_BUDGET_URL');
    if (!url) return fail('no target: pass --url (or set SHIPGATE_BUDGET_URL)');
    const { binary, reason } = findK6();
    const dir = reportDir();
    if (!binary) {
      process.stderr.write(`shipgate k6: skipped, ${reason}.\n`);
      const records = slos.map(
        (slo): ShipgateRecord => ({
          id: `load › k6 › ${slo.id}`,
          kind: 'load',
          runner: 'k6',
          name: slo.name,
          suite: ['k6'],
          status: 'inconclusive',
          durationMs: 0,
          message: `Not run by k6: ${reason}.`,
        }),
      );
      return finish(records, [], startedAt);
    }
    const records: ShipgateRecord[] = [];
    mkdirSync(path.join(dir, 'k6'), { recursive: true });
    for (const slo of slos) {
      const script = path.join(dir, 'k6', `${slo.id}.js`);
      writeFileSync(script, generateK6Script([slo], { profile: profile as ProfileName, name: slo.id }));
      process.stderr.write(
        `shipgate k6: k6 run --no-usage-report ${path.relative(process.cwd(), script)} (${binary.path})\n`,
      );
      const t0 = Date.now();
      let run: K6Run;
      try {
        run = await runK6(binary, script, {
          baseUrl: url,
          reportDir: dir,
          name: slo.id,
          onOutput: (c) => process.stderr.write(c),
        });
      } catch (err) {
        // k6 could not even start; the other SLOs would fail the same way, but each gets its record.
        if (!(err instanceof ShipgateError)) throw err;
        process.stderr.write(`shipgate k6: ${slo.id}: ${err.name} [${err.code}]: ${err.message}\n`);
        records.push(brokenRecord(slo, `k6 run for SLO "${slo.id}": ${err.message}`, Date.now() - t0));
        continue;
      }
      const broken = brokenRun(slo, run, binary.path);
      if (broken) {
        process.stderr.write(`shipgate k6: ${slo.id}: ${broken}\n`);
        records.push(brokenRecord(slo, broken, Date.now() - t0, run));
        continue;
      }
      for (const result of k6Results(run.summary as K6Summary, {
        slos: [slo],
        profile: profile as ProfileName,
        source: run.summaryFile,
      })) {
        // Exit 99 is an SLO violation even if no parsed threshold says so.
        if (run.meaning.kind === 'violation' && result.status === 'passed') {
          result.status = 'failed';
          result.verdict.inconclusive.push(run.meaning.text);
        }
        process.stdout.write(`${explain(result)}\n\n`);
        const rec = toRecord(result, { suite: ['k6'], runner: 'k6', kind: 'load' });
        rec.attachments = [{ name: 'k6 summary', path: run.summaryFile, contentType: 'application/json' }];
        records.push(rec);
      }
    }
    return finish(records, [], startedAt);
  }

  if (sub === 'parse') {
    if (positionals.length === 0) return fail('parse needs at least one summary JSON file');
    const slos = await slosFrom(values, false);
    if (typeof slos === 'string') return fail(slos);
    // Every file is read before any record is written, and every bad one is reported at once: exit 1.
    const summaries: [string, K6Summary][] = [];
    const bad: ShipgateError[] = [];
    for (const file of positionals) {
      try {
        summaries.push([file, readK6Summary(file)]);
      } catch (err) {
        if (!(err instanceof ShipgateError)) throw err;
        bad.push(err);
      }
    }
    if (bad.length) {
      for (const err of bad) process.stderr.write(`shipgate k6 parse: ${err.name} [${err.code}]: ${err.message}\n`);
      return 1;
    }
    const records: ShipgateRecord[] = [];
    for (const [file, summaryData] of summaries) {
      process.stderr.write(`shipgate k6: ${file}: ${summaryData.shape} shape, ${summaryData.metrics.length} metrics\n`);
      for (const result of k6Results(summaryData, { slos, profile: profile as ProfileName, source: file })) {
        process.stdout.write(`${explain(result)}\n\n`);
        const rec = toRecord(result, { suite: ['k6'], runner: 'k6', kind: 'load' });
        rec.attachments = [{ name: 'k6 summary', path: path.resolve(file), contentType: 'application/json' }];
        records.push(rec);
      }
    }
    return finish(records, [], startedAt);
  }

  if (sub === 'manifest') {
    const slos = await slosFrom(values, true);
    if (typeof slos === 'string') return fail(slos);
    if (slos.length !== 1) return fail(`manifest needs exactly one SLO (--only <id>); got ${slos.length}`);
    const url = values.url as string | undefined;
    if (!url) return fail('manifest needs --url: the system under test as the cluster reaches it');
    const parallelism = Number(values.parallelism ?? 4);
    if (!Number.isInteger(parallelism) || parallelism < 1)
      return fail(`--parallelism is "${values.parallelism}"; expected an integer ≥ 1`);
    const slo = slos[0] as Slo;
    const yaml = testRunManifest({
      name: slo.id,
      file: `${slo.id}.js`,
      script: generateK6Script([slo], { profile: profile as ProfileName, name: slo.id }),
      parallelism,
      baseUrl: url,
      ...(values.namespace ? { namespace: values.namespace as string } : {}),
    });
    if (values.out) {
      writeFileSync(path.resolve(values.out as string), yaml);
      process.stdout.write(`shipgate k6: wrote ${values.out}\n`);
    } else process.stdout.write(yaml);
    return 0;
  }

  return fail(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
}
