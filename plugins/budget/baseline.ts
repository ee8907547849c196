import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { envValue } from '../core/settings.ts';
import type { RoundMetrics } from './analyze.ts';
import { BudgetError } from './errors.ts';
import type { RunPlan } from './profiles.ts';

/**
 * The baseline store: one JSON file per SLO, `<dir>/<slo-id>.json`, holding the results of
 * recent commits, each with its per-round metrics and full latency histograms. `dir` is
 * `SHIPGATE_BASELINE_DIR` (e.g. a downloaded CI artifact), default `perf/baselines` in the
 * repo. Entries are only added when asked (`SHIPGATE_BASELINE_UPDATE=1`); every run also
 * writes the file with its own entry added into `<report dir>/baselines/`, ready to upload as
 * the next run's artifact.
 */

export const BASELINE_FORMAT = 'shipgate.baseline/v1';

export interface BaselineEntry {
  commit?: string;
  createdAt: string;
  profile: string;
  /** Hash of the endpoint and resolved load: entries are only compared under the same load. */
  loadKey: string;
  /** What the load was, for people reading the file. */
  load: unknown;
  machine: { cpus: number; model: string; node: string };
  rounds: RoundMetrics[];
}

export interface BaselineFile {
  format: typeof BASELINE_FORMAT;
  sloId: string;
  entries: BaselineEntry[];
}

/** Baseline directory: `SHIPGATE_BASELINE_DIR`, default `perf/baselines` (relative to the cwd). */
export function baselineDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(envValue('SHIPGATE_BASELINE_DIR', env) || 'perf/baselines');
}

/** Entries kept per SLO: `SHIPGATE_BASELINE_KEEP`, default 20. */
export function baselineKeep(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(envValue('SHIPGATE_BASELINE_KEEP', env) ?? 20);
  return Number.isInteger(n) && n >= 1 ? n : 20;
}

/** Identifies the endpoint + load a result was measured under. */
export function loadKeyOf(plan: RunPlan): string {
  const ep = plan.slo.endpoint;
  return createHash('sha256')
    .update(JSON.stringify({ method: ep.method, path: ep.path, load: plan.load }))
    .digest('hex')
    .slice(0, 16);
}

export function machineInfo(): BaselineEntry['machine'] {
  const c = cpus();
  return { cpus: c.length, model: c[0]?.model ?? 'unknown', node: process.version };
}

/** Reads `<dir>/<sloId>.json`; undefined when absent; a clear error when unreadable. */
export function readBaseline(dir: string, sloId: string): BaselineFile | undefined {
  const file = path.join(dir, `${sloId}.json`);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new BudgetError('SHIPGATE_BASELINE_INVALID', `Baseline file "${file}" is not valid JSON.`, {
      cause,
      hint: 'Delete it or restore it from version control, or point SHIPGATE_BASELINE_DIR elsewhere.',
    });
  }
  const f = parsed as Partial<BaselineFile>;
  if (f?.format !== BASELINE_FORMAT || !Array.isArray(f.entries)) {
    throw new BudgetError(
      'SHIPGATE_BASELINE_INVALID',
      `Baseline file "${file}" has format ${JSON.stringify(f?.format)}; expected "${BASELINE_FORMAT}" with an entries array.`,
      {
        hint: 'Delete it (the next SHIPGATE_BASELINE_UPDATE=1 run rewrites it) or point SHIPGATE_BASELINE_DIR elsewhere.',
      },
    );
  }
  return f as BaselineFile;
}

/**
 * The entry to compare against: `commit` when given and present (e.g. the merge base,
 * `SHIPGATE_BASELINE_COMMIT`); else the newest entry of another commit; else the newest one.
 * Only entries with the same profile and load count.
 */
export function pickBaseline(
  file: BaselineFile | undefined,
  opts: { profile: string; loadKey: string; commit?: string; current?: string },
): BaselineEntry | undefined {
  if (!file) return undefined;
  const same = file.entries.filter((e) => e.profile === opts.profile && e.loadKey === opts.loadKey);
  if (opts.commit) return same.findLast((e) => e.commit === opts.commit);
  return same.findLast((e) => !opts.current || e.commit !== opts.current) ?? same.at(-1);
}

/** Writes `file` with `entry` appended (oldest dropped beyond `keep`) atomically; returns the path. */
export function writeBaseline(
  dir: string,
  sloId: string,
  previous: BaselineFile | undefined,
  entry: BaselineEntry,
  keep: number,
): string {
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `${sloId}.json`);
  const entries = [...(previous?.entries ?? []), entry].slice(-keep);
  const out: BaselineFile = { format: BASELINE_FORMAT, sloId, entries };
  writeFileSync(`${target}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
  return target;
}
