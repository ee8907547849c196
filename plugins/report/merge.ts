import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describeError, ShipgateError } from '../core/errors.ts';
import { redactSecrets } from '../core/redact.ts';
import type { RecordFile, RecordKind, RecordStatus, ShipgateRecord } from './model.ts';
import { shardProblem } from './records.ts';

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** All record files of one or more report directories (e.g. CI shards), merged. */
export interface MergedReport {
  records: ShipgateRecord[];
  /** Run errors from every producer (crashed workers, unhandled errors). */
  errors: { source: string; message: string }[];
  /** Problems rendering or sending the report; they never change the exit code. */
  reporterErrors: { sink: string; message: string }[];
  producers: string[];
  commit?: string;
  schemaVersion?: string;
  startedAt: string;
  finishedAt: string;
  shards: { expected?: number; present: string[]; missing: string[] };
  /** The directories merged. */
  sources: string[];
}

/**
 * The report's input is unusable: a directory that does not exist or holds no record files
 * (codes `SHIPGATE_REPORT_DIR_MISSING`, `SHIPGATE_REPORT_EMPTY`), or record files that are not
 * JSON or hold invalid records (`SHIPGATE_REPORT_INPUT`: every problem of every file at once).
 */
export class ReportInputError extends ShipgateError {}

const STATUSES: readonly RecordStatus[] = ['passed', 'failed', 'skipped', 'flaky', 'inconclusive'];
const KINDS: readonly RecordKind[] = ['test', 'e2e', 'budget', 'load', 'migration'];
/** Problems shown per file; the rest are counted. */
const MAX_PROBLEMS_PER_FILE = 10;

/** A value as seen in a file, short and with secrets as `***`. */
function seen(value: unknown): string {
  const text = value === undefined ? 'missing' : JSON.stringify(value);
  return redactSecrets(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/** The problems of one record, each naming its field, the value seen and what is expected. */
function recordProblems(r: unknown, at: string): string[] {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return [`${at} is ${seen(r)}; expected a record object`];
  const rec = r as Record<string, unknown>;
  const label = typeof rec.id === 'string' && rec.id ? `${at} (${seen(rec.id)})` : at;
  const problems: string[] = [];
  const field = (key: string, ok: boolean, expected: string) => {
    if (!ok) problems.push(`${label}.${key} is ${seen(rec[key])}; expected ${expected}`);
  };
  const nonEmpty = (v: unknown) => typeof v === 'string' && v.trim() !== '';
  field('id', nonEmpty(rec.id), 'a non-empty string');
  field('name', nonEmpty(rec.name), 'a non-empty string');
  field('kind', KINDS.includes(rec.kind as RecordKind), `one of ${KINDS.join(', ')}`);
  field('status', STATUSES.includes(rec.status as RecordStatus), `one of ${STATUSES.join(', ')}`);
  field(
    'durationMs',
    typeof rec.durationMs === 'number' && Number.isFinite(rec.durationMs) && rec.durationMs >= 0,
    'a finite number of milliseconds >= 0',
  );
  if (rec.suite !== undefined) {
    field('suite', Array.isArray(rec.suite) && rec.suite.every((x) => typeof x === 'string'), 'an array of strings');
  }
  if (rec.runner !== undefined) field('runner', typeof rec.runner === 'string', 'a string');
  if (rec.message !== undefined) field('message', typeof rec.message === 'string', 'a string');
  if (rec.retries !== undefined) {
    field('retries', Number.isInteger(rec.retries) && (rec.retries as number) >= 0, 'a whole number >= 0');
  }
  return problems;
}

/** A record file, or the problems that make it unusable (not JSON, wrong format, invalid records). */
function readRecordFile(file: string): { file: RecordFile } | { problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { problems: [`"${file}" is not valid JSON: ${describeError(err).split('\n')[0]?.slice(0, 200)}`] };
  }
  const f = (parsed ?? {}) as Partial<RecordFile>;
  if (f.format !== 'shipgate.records/v1' || !Array.isArray(f.records)) {
    return {
      problems: [
        `"${file}" has format ${seen(f.format)}${Array.isArray(f.records) ? '' : ' and no records array'}; expected "shipgate.records/v1" (written by another tool or an incompatible shipgate version)`,
      ],
    };
  }
  const problems = f.records.flatMap((r, i) => recordProblems(r, `records[${i}]`));
  const shard = f.shard === undefined ? undefined : typeof f.shard === 'string' ? shardProblem(f.shard) : seen(f.shard);
  if (shard) problems.unshift(`shard is ${shard} (written with SHIPGATE_SHARD)`);
  if (f.errors !== undefined && !Array.isArray(f.errors))
    problems.push(`errors is ${seen(f.errors)}; expected an array`);
  if (problems.length === 0) return { file: f as RecordFile };
  const shown = problems.slice(0, MAX_PROBLEMS_PER_FILE).map((p) => `"${file}": ${p}`);
  if (problems.length > shown.length) shown.push(`"${file}": … and ${problems.length - shown.length} more problems`);
  return { problems: shown };
}

/** Record files under `<dir>/records/` (or `<dir>` itself), sorted for a stable order. */
function recordFiles(dir: string): string[] {
  const recordsDir = existsSync(path.join(dir, 'records')) ? path.join(dir, 'records') : dir;
  if (!existsSync(recordsDir)) return [];
  return readdirSync(recordsDir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => path.join(recordsDir, n));
}

/**
 * Merges the record files of `dirs`. Shards are recognised by `SHIPGATE_SHARD=i/n` labels;
 * with `expectShards` (or an `n` in the labels) missing shards are listed in `shards.missing`
 * and reported as a run error, so a lost shard cannot turn a red run green.
 */
export function mergeReports(dirs: readonly string[], options: { expectShards?: number } = {}): MergedReport {
  const missing = dirs.map((d) => path.resolve(d)).filter((d) => !isDirectory(d));
  if (missing.length) {
    throw new ReportInputError(
      'SHIPGATE_REPORT_DIR_MISSING',
      `Report director${missing.length === 1 ? 'y' : 'ies'} ${missing.map((d) => `"${d}"`).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist.`,
      {
        hint: 'Pass the directories the runners wrote to (`shipgate report <dir…>`), or set SHIPGATE_REPORT_DIR to it (default .shipgate/report).',
      },
    );
  }
  const files = dirs.flatMap((d) => recordFiles(path.resolve(d)));
  if (files.length === 0) {
    throw new ReportInputError(
      'SHIPGATE_REPORT_EMPTY',
      `No record files in ${dirs.map((d) => `"${path.resolve(d)}"`).join(', ')}.`,
      { hint: 'Run the tests first, or point `shipgate report` at the directories given by SHIPGATE_REPORT_DIR.' },
    );
  }
  const read = files.map(readRecordFile);
  const problems = read.flatMap((r) => ('problems' in r ? r.problems : []));
  if (problems.length) {
    const n = read.filter((r) => 'problems' in r).length;
    throw new ReportInputError(
      'SHIPGATE_REPORT_INPUT',
      `${n} record file${n === 1 ? ' is' : 's are'} unusable (fix or delete ${n === 1 ? 'it' : 'them'}, or re-run the step that wrote ${n === 1 ? 'it' : 'them'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  const parsed = read.map((r) => (r as { file: RecordFile }).file);
  const records = parsed.flatMap((f) => f.records);
  const errors = parsed.flatMap((f) => f.errors ?? []);
  const starts = parsed.map((f) => f.startedAt).sort();
  const ends = parsed.map((f) => f.finishedAt).sort();
  const shardLabels = [...new Set(parsed.map((f) => f.shard).filter((s): s is string => !!s))].sort();
  const expected = options.expectShards ?? inferShardCount(shardLabels);
  const missingShards: string[] = [];
  if (expected) {
    const presentIdx = new Set(shardLabels.map((l) => Number(l.split('/')[0])));
    for (let i = 1; i <= expected; i++) if (!presentIdx.has(i)) missingShards.push(`${i}/${expected}`);
  }
  for (const m of missingShards) {
    errors.push({
      source: 'shipgate report',
      message: `shard ${m} is missing: no record files carry SHIPGATE_SHARD=${m}`,
    });
  }
  return {
    records,
    errors,
    reporterErrors: [],
    producers: [...new Set(parsed.map((f) => f.producer))].sort(),
    commit: parsed.find((f) => f.commit)?.commit,
    schemaVersion: parsed.find((f) => f.schemaVersion)?.schemaVersion,
    startedAt: starts[0] ?? new Date().toISOString(),
    finishedAt: ends[ends.length - 1] ?? new Date().toISOString(),
    shards: { expected, present: shardLabels, missing: missingShards },
    sources: dirs.map((d) => path.resolve(d)),
  };
}

function inferShardCount(labels: readonly string[]): number | undefined {
  const totals = labels.map((l) => Number(l.split('/')[1])).filter((n) => Number.isInteger(n) && n > 0);
  return totals.length ? Math.max(...totals) : undefined;
}
