import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import { envValue } from '../../core/settings.ts';
import { findK6, generateK6Script, k6Results, parseK6Summary, runK6, testRunManifest } from '../../k6/index.ts';
import { exitCodeFor, parsePolicy, type ShipgateRecord } from '../../report/model.ts';
import { reportDir, writeRecords } from '../../report/records.ts';
import { wantsHelp } from '../run.ts';

/**
 * `shipgate k6 <generate|run|parse|manifest>`: k6 from the same SLOs.
 *   generate --slos f [--only ids] [--profile p] [--out perf/k6]    one script per SLO
 *   run      --slos f --url URL [--only ids] [--profile p]          k6 run --no-usage-report; records; exit by policy
 *   parse    <summary.json…> [--slos f] [--profile p]               either summary shape → records; exit by policy
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
    throw err;
  }
}

function profileFrom(values: Values): ProfileName | string {
  const p = (values.profile as string | undefined) ?? envValue('SHIPGATE_BUDGET_PROFILE') ?? 'normal';
  return (PROFILE_NAMES as readonly string[]).includes(p)
    ? (p as ProfileName)
    : `--profile is "${p}"; expected ${PROFILE_NAMES.join(', ')}`;
}

function finish(records: ShipgateRecord[], errors: { source: string; message: string }[], startedAt: string): number {
  writeRecords('k6', records, { startedAt, errors });
  const code = exitCodeFor(records, errors, parsePolicy(envValue('SHIPGATE_EXIT_POLICY')));
  for (const r of records)
    process.stdout.write(`shipgate k6: ${r.status}${r.regression ? ' (regression)' : ''}  ${r.name}\n`);
  process.stdout.write(`shipgate k6: exit ${code}\n`);
  return code;
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
    const errors: { source: string; message: string }[] = [];
    mkdirSync(path.join(dir, 'k6'), { recursive: true });
    for (const slo of slos) {
      const script = path.join(dir, 'k6', `${slo.id}.js`);
      writeFileSync(script, generateK6Script([slo], { profile: profile as ProfileName, name: slo.id }));
      process.stderr.write(
        `shipgate k6: k6 run --no-usage-report ${path.relative(process.cwd(), script)} (${binary.path})\n`,
      );
      const run = await runK6(binary, script, {
        baseUrl: url,
        reportDir: dir,
        name: slo.id,
        onOutput: (c) => process.stderr.write(c),
      });
      if (run.meaning.kind === 'error' || !run.summary) {
        errors.push({
          source: `k6 ${slo.id}`,
          message: run.summary ? run.meaning.text : `${run.meaning.text}; no summary was written`,
        });
        continue;
      }
      for (const result of k6Results(run.summary, {
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
    return finish(records, errors, startedAt);
  }

  if (sub === 'parse') {
    if (positionals.length === 0) return fail('parse needs at least one summary JSON file');
    const slos = await slosFrom(values, false);
    if (typeof slos === 'string') return fail(slos);
    const records: ShipgateRecord[] = [];
    for (const file of positionals) {
      const summaryData = parseK6Summary(JSON.parse(readFileSync(file, 'utf8')), file);
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
