import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ShipgateError } from '../core/errors.ts';
import type { RecordFile, ShipgateRecord } from './model.ts';

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

/** A report directory that holds no record files, or a malformed record file. */
export class ReportInputError extends ShipgateError {}

function readRecordFile(file: string): RecordFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ReportInputError('SHIPGATE_REPORT_INPUT', `Record file "${file}" is not valid JSON.`, {
      cause: err,
      hint: 'Delete it or re-run the step that wrote it.',
    });
  }
  const f = parsed as Partial<RecordFile>;
  if (f.format !== 'shipgate.records/v1' || !Array.isArray(f.records)) {
    throw new ReportInputError(
      'SHIPGATE_REPORT_INPUT',
      `Record file "${file}" has format ${JSON.stringify(f.format)}, expected "shipgate.records/v1".`,
      { hint: 'It was written by another tool or an incompatible shipgate version.' },
    );
  }
  return f as RecordFile;
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
  const files = dirs.flatMap((d) => recordFiles(path.resolve(d)));
  if (files.length === 0) {
    throw new ReportInputError(
      'SHIPGATE_REPORT_EMPTY',
      `No record files in ${dirs.map((d) => `"${path.resolve(d)}"`).join(', ')}.`,
      { hint: 'Run the tests first, or point `shipgate report` at the directories given by SHIPGATE_REPORT_DIR.' },
    );
  }
  const parsed = files.map(readRecordFile);
  const records = parsed.flatMap((f) => f.records);
  const errors = parsed.flatMap((f) => f.errors ?? []);
  const starts = parsed.map((f) => f.startedAt).sort();
  const ends = parsed.map((f) => f.finishedAt).sort();
  const shardLabels = [...new Set(parsed.map((f) => f.shard).filter((s): s is string => !!s))].sort();
  const expected = options.expectShards ?? inferShardCount(shardLabels);
  const missing: string[] = [];
  if (expected) {
    const presentIdx = new Set(shardLabels.map((l) => Number(l.split('/')[0])));
    for (let i = 1; i <= expected; i++) if (!presentIdx.has(i)) missing.push(`${i}/${expected}`);
  }
  for (const m of missing) {
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
    shards: { expected, present: shardLabels, missing },
    sources: dirs.map((d) => path.resolve(d)),
  };
}

function inferShardCount(labels: readonly string[]): number | undefined {
  const totals = labels.map((l) => Number(l.split('/')[1])).filter((n) => Number.isInteger(n) && n > 0);
  return totals.length ? Math.max(...totals) : undefined;
}
