import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { redactDeep } from '../core/redact.ts';
import { envValue } from '../core/settings.ts';
import type { RecordFile, ShipgateRecord } from './model.ts';

/** Report directory: `SHIPGATE_REPORT_DIR`, default `.shipgate/report` (relative to the cwd). */
export function reportDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(envValue('SHIPGATE_REPORT_DIR', env) || '.shipgate/report');
}

let commitCache: string | undefined;
/** The commit under test: `GITHUB_SHA`, else `git rev-parse HEAD`, else undefined. */
export function currentCommit(): string | undefined {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  if (commitCache === undefined) {
    try {
      commitCache = execFileSync('git', ['rev-parse', 'HEAD'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      commitCache = '';
    }
  }
  return commitCache || undefined;
}

/** A new report run id: the start time and this process's pid. */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}`;
}

/**
 * Starts a report run in this process unless one is under way, i.e. `SHIPGATE_RUN_ID` is set
 * (by `shipgate test` for all its phases, or by a parent run). Sets it, so workers and child
 * processes join this run, and returns true: the caller then starts the records clean.
 */
export function beginRun(env: NodeJS.ProcessEnv = process.env): boolean {
  if (envValue('SHIPGATE_RUN_ID', env)) return false;
  env.SHIPGATE_RUN_ID = newRunId();
  return true;
}

/** Deletes the record files of earlier runs from `<reportDir>/records/`, so a report never merges stale ones. */
export function clearRecords(dir: string = reportDir()): void {
  rmSync(path.join(dir, 'records'), { recursive: true, force: true });
}

/** Why `label` is not a shard label `i/n` with 1 ≤ i ≤ n, or undefined. */
export function shardProblem(label: string): string | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(label.trim());
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  return m && i >= 1 && i <= n
    ? undefined
    : `"${label}"; expected i/n with 1 <= i <= n, e.g. 2/4 (this process's CI shard)`;
}

/** `SHIPGATE_SHARD`, checked: a bad label would make the merge report shards as missing. */
function shardLabel(): string | undefined {
  const shard = envValue('SHIPGATE_SHARD');
  const problem = shard === undefined ? undefined : shardProblem(shard);
  if (problem) throw new ConfigError([`SHIPGATE_SHARD is ${problem}`]);
  return shard;
}

let seq = 0;

/**
 * Writes one record file for `producer` into `<reportDir>/records/` (atomically: a reader never
 * sees half a file). Returns its path.
 */
export function writeRecords(
  producer: string,
  records: ShipgateRecord[],
  extra: Partial<Pick<RecordFile, 'schemaVersion' | 'startedAt' | 'finishedAt' | 'errors'>> = {},
): string {
  const dir = path.join(reportDir(), 'records');
  mkdirSync(dir, { recursive: true });
  const now = new Date().toISOString();
  const file: RecordFile = {
    format: 'shipgate.records/v1',
    producer,
    shard: shardLabel(),
    run: envValue('SHIPGATE_RUN_ID'),
    commit: currentCommit(),
    schemaVersion: extra.schemaVersion,
    startedAt: extra.startedAt ?? now,
    finishedAt: extra.finishedAt ?? now,
    records,
    errors: extra.errors ?? [],
  };
  seq += 1;
  const target = path.join(dir, `${producer}-${process.pid}-${seq}.json`);
  writeFileSync(`${target}.tmp`, `${JSON.stringify(redactDeep(file), null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
  return target;
}

/** Builds a stable record id. */
export function recordId(kind: string, file: string | undefined, suite: readonly string[], name: string): string {
  return [kind, file ?? '', ...suite, name].join(' › ');
}
