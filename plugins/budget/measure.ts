import path from 'node:path';
import { debug } from '../core/debug.ts';
import { envValue } from '../core/settings.ts';
import { currentCommit, reportDir } from '../report/records.ts';
import { analyze, type Measurement, type RoundRun } from './analyze.ts';
import {
  type BaselineEntry,
  baselineDir,
  baselineKeep,
  loadKeyOf,
  machineInfo,
  pickBaseline,
  readBaseline,
  writeBaseline,
} from './baseline.ts';
import { formatMs } from './duration.ts';
import { BudgetError } from './errors.ts';
import { defaultThreads, Generator } from './generator.ts';
import { threadWaitNs } from './host-load.ts';
import { jobFor, warmupLoad } from './jobs.ts';
import { budgetPercentiles, profileFromEnv, type RunPlan, resolveRun } from './profiles.ts';
import {
  compareRounds,
  type NoiseAllowance,
  noiseAllowance,
  noisyRound,
  type RegressionReport,
  type RegressionThresholds,
  withoutNoise,
} from './regression.ts';
import { statusOk } from './requests.ts';
import type { ProfileName, ResolvedLoad, Slo } from './slo.ts';
import { type StartedTarget, startTarget, type Target } from './target.ts';
import { judge, type Verdict } from './verdict.ts';

const log = debug('budget');

export interface MeasureOptions {
  /** Profile to run. Default `SHIPGATE_BUDGET_PROFILE`, else `normal`. */
  profile?: ProfileName;
  /**
   * The base build, for interleaved A/B rounds in this job (an app, server or URL). Default: none;
   * the adapters read `SHIPGATE_BUDGET_BASE_URL`.
   */
  base?: Target;
  /** Rounds per target. Default `SHIPGATE_BUDGET_ROUNDS`, else 5 with a base, else 1 (5 when updating the baseline). */
  rounds?: number;
  /**
   * Baseline directory. Default `SHIPGATE_BASELINE_DIR`, else `perf/baselines`. `false` turns
   * baselines off: no stored-baseline comparison, nothing written.
   */
  baselineDir?: string | false;
  /** Add this run to the baseline store. Default `SHIPGATE_BASELINE_UPDATE=1`. */
  updateBaseline?: boolean;
  /** Regression thresholds. Default: latency +15 %, error rate +2 points, throughput −10 %. */
  thresholds?: Partial<RegressionThresholds>;
  /** Progress lines (default: `DEBUG=shipgate:budget`). */
  log?: (line: string) => void;
  /**
   * Load-generator threads for burst and open-loop loads. Default `SHIPGATE_BUDGET_THREADS`, else
   * half the cores this process may use, from 1 to 4 (1 on a 2-core machine, where the other core
   * is the app's).
   */
  threads?: number;
  /** Keep every request's record in the result (`records`), e.g. to export or re-analyse them. Default false. */
  keepRecords?: boolean;
}

/** Where the regression judgement compared against. */
export interface BaselineRef {
  source: 'interleaved' | 'store';
  file?: string;
  commit?: string;
  createdAt?: string;
}

/** The result of one SLO measurement: what `toMeetBudget()` judges and what report records carry. */
export interface BudgetResult {
  sloId: string;
  name: string;
  method: string;
  path: string;
  profile: ProfileName;
  /** The load run (absent for a k6 summary read without its SLO). */
  load?: ResolvedLoad;
  budgets: RunPlan['budgets'];
  status: Verdict['status'];
  verdict: Verdict;
  measurement: Measurement;
  /** The base build's measurement (interleaved rounds). */
  base?: Measurement;
  regression?: RegressionReport;
  baseline?: BaselineRef;
  /** Where this run's baseline entry was written (report dir, and the store when updating). */
  baselineWritten: string[];
  engine: 'in-process' | 'k6';
  startedAt: string;
  durationMs: number;
  /** Per-request records of every round, with `keepRecords`. */
  records?: { head: RoundRun[]; base?: RoundRun[] };
}

function envRounds(env: NodeJS.ProcessEnv): number | undefined {
  const raw = envValue('SHIPGATE_BUDGET_ROUNDS', env);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new BudgetError(
      'SHIPGATE_BUDGET_CONFIG',
      `SHIPGATE_BUDGET_ROUNDS is "${raw}"; expected an integer from 1 to 100.`,
    );
  }
  return n;
}

function envThreads(env: NodeJS.ProcessEnv): number | undefined {
  const raw = envValue('SHIPGATE_BUDGET_THREADS', env);
  if (raw === undefined || raw === '' || raw === 'auto') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    throw new BudgetError(
      'SHIPGATE_BUDGET_CONFIG',
      `SHIPGATE_BUDGET_THREADS is "${raw}"; expected auto or an integer from 1 to 16.`,
    );
  }
  return n;
}

/** Extra head rounds the regression guard may run when a round was too noisy to judge. */
const MAX_EXTRA_ROUNDS = 4;

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

/** Round order for interleaved A/B: B H H B B H H B … (ABBA cancels linear drift). */
export function interleave(rounds: number): ('base' | 'head')[] {
  const out: ('base' | 'head')[] = [];
  for (let i = 0; i < rounds; i++)
    out.push(...(i % 2 === 0 ? (['base', 'head'] as const) : (['head', 'base'] as const)));
  return out;
}

/**
 * Measures `target` against `slo`: starts an app in this process on a free port (or uses a URL),
 * generates the profile's load from a worker thread, records every request, and judges the
 * budgets. With `base`, runs base and head in interleaved rounds and judges a regression;
 * otherwise compares with the stored baseline when one matches.
 */
export async function measureSlo(target: Target, slo: Slo, options: MeasureOptions = {}): Promise<BudgetResult> {
  const env = process.env;
  const say = options.log ?? ((line: string) => log(line));
  const profile = options.profile ?? profileFromEnv(env);
  const plan = resolveRun(slo, profile);
  const update = options.updateBaseline ?? truthy(envValue('SHIPGATE_BASELINE_UPDATE', env));
  const rounds = Math.max(
    options.rounds ?? envRounds(env) ?? (options.base !== undefined ? 5 : 1),
    options.base !== undefined || update ? 5 : 1,
  );
  const threads = options.threads ?? envThreads(env) ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > 16) {
    throw new BudgetError('SHIPGATE_BUDGET_CONFIG', `threads is ${threads}; expected an integer from 1 to 16.`);
  }
  const started = Date.now();
  const ok = statusOk(slo.endpoint);
  // Read the store before any load, so a corrupt baseline fails fast.
  const dir = options.baselineDir === false ? undefined : (options.baselineDir ?? baselineDir(env));
  const loadKey = loadKeyOf(plan);
  const commit = currentCommit();
  const stored = dir ? readBaseline(dir, slo.id) : undefined;

  const opened: StartedTarget[] = [];
  let gen: Generator | undefined;
  try {
    const head = await startTarget(target);
    opened.push(head);
    const base = options.base !== undefined ? await startTarget(options.base) : undefined;
    if (base) opened.push(base);
    gen = await Generator.start(threads);
    let offset = 0;
    const run = async (t: StartedTarget, load: ResolvedLoad) => {
      const { job, used } = jobFor(plan, load, t.origin, offset);
      offset += used;
      // A server in this process runs on this thread (started here, or a URL it listens on):
      // this thread's CPU wait over the round is the server's. An idle thread barely waits.
      const wait0 = threadWaitNs();
      const t0 = performance.now();
      const out = await (gen as Generator).run(job);
      const wait1 = wait0 === undefined ? undefined : threadWaitNs();
      if (out.stats.host && wait0 !== undefined && wait1 !== undefined) {
        out.stats.host.serverWait = (wait1 - wait0) / 1e6 / (performance.now() - t0);
      }
      return { record: out.record, stats: out.stats, traceSalt: job.traceSalt } satisfies RoundRun;
    };

    const warm = warmupLoad(plan);
    if (warm) {
      for (const t of base ? [base, head] : [head]) {
        say(`${slo.id}: warm-up ${plan.warmupMs} ms against ${t.origin}`);
        await run(t, warm);
      }
    }
    const headRuns: RoundRun[] = [];
    const baseRuns: RoundRun[] = [];
    const order: ('base' | 'head')[] = base ? interleave(rounds) : Array.from({ length: rounds }, () => 'head');
    for (const [i, side] of order.entries()) {
      const t = side === 'base' ? (base as StartedTarget) : head;
      const r = await run(t, plan.load);
      (side === 'base' ? baseRuns : headRuns).push(r);
      say(`${slo.id}: round ${i + 1}/${order.length} (${side}) ${r.record.n} requests`);
    }

    let measurement = analyze(headRuns, ok);
    let verdict = judge(plan, measurement);
    const baseMeasurement = base ? analyze(baseRuns, ok) : undefined;

    const percentiles = budgetPercentiles(plan.budgets);
    const compare = {
      percentiles: percentiles.length ? percentiles : [95],
      throughput: plan.load.kind === 'burst' || (plan.load.kind === 'stages' && plan.load.unit === 'vus'),
      thresholds: options.thresholds,
      seed: slo.id,
    };
    let regression: RegressionReport | undefined;
    let baselineRef: BaselineRef | undefined;
    if (baseMeasurement) {
      regression = compareRounds(baseMeasurement.rounds, measurement.rounds, { ...compare, method: 'interleaved' });
      baselineRef = { source: 'interleaved' };
    } else if (dir) {
      const entry = pickBaseline(stored, {
        profile,
        loadKey,
        commit: envValue('SHIPGATE_BASELINE_COMMIT', env) || undefined,
        current: commit,
      });
      if (entry) {
        const opts = { ...compare, method: 'baseline' as const };
        regression = compareRounds(entry.rounds, measurement.rounds, opts);
        if (regression.regression) {
          // The lateness guard (regression.ts noisyRound): a regression seen in a round noisier
          // than the baseline's is re-measured, and judged on clean rounds only.
          const wanted = measurement.rounds.length;
          const noisy = () => measurement.rounds.map((r) => noisyRound(entry.rounds, r));
          let reasons = noisy();
          let extra = 0;
          while (reasons.some(Boolean) && reasons.filter((x) => !x).length < wanted && extra < MAX_EXTRA_ROUNDS) {
            extra++;
            say(`${slo.id}: head round too noisy to judge a regression (${reasons.find(Boolean)}); one more round`);
            const r = await run(head, plan.load);
            headRuns.push(r);
            measurement = analyze(headRuns, ok);
            reasons = noisy();
          }
          if (extra) verdict = judge(plan, measurement);
          const clean = measurement.rounds.filter((_, i) => !reasons[i]);
          const left = reasons.filter((x): x is string => Boolean(x));
          if (left.length && clean.length === 0) {
            // Every head round was noisy: a regression larger than the noise could explain is
            // still called (regression.ts noiseAllowance); one within it is not judged.
            const allowances = measurement.rounds.map((r) => noiseAllowance(entry.rounds, r));
            const strict = compareRounds(
              entry.rounds,
              measurement.rounds.map((r, i) => withoutNoise(r, allowances[i] as NoiseAllowance)),
              opts,
            );
            const worst = allowances.reduce((a, b) => (b.factor > a.factor ? b : a));
            const allowed = `latency ×${worst.factor.toFixed(2)} plus ${formatMs(worst.addUs / 1000)}`;
            if (strict.regression) {
              const held = new Set(strict.comparisons.filter((c) => c.regression).map((c) => c.key));
              regression = {
                ...regression,
                comparisons: regression.comparisons.map((c) => ({
                  ...c,
                  regression: held.has(c.key),
                  suspected: c.suspected || (c.regression && !held.has(c.key)),
                })),
                notes: [
                  ...regression.notes,
                  `every head round was noisier than the baseline's (${left[0]}); judged anyway: the regression is larger than that noise could explain (${allowed})`,
                ],
              };
            } else {
              const why = `a regression could not be judged: every head round was noisier than the baseline's (${left[0]}), and the noise could explain the difference (${allowed}); rerun on a quieter machine, or with a base build (SHIPGATE_BUDGET_BASE_URL) for interleaved rounds`;
              regression = {
                ...regression,
                judged: false,
                regression: false,
                notes: [...regression.notes, `not judged: ${why}`],
              };
              verdict = {
                ...verdict,
                status: verdict.status === 'passed' ? 'inconclusive' : verdict.status,
                inconclusive: [...verdict.inconclusive, why],
              };
            }
          } else if (left.length) {
            regression = compareRounds(entry.rounds, clean, opts);
            regression.notes.push(
              `${left.length} head round(s) noisier than the baseline's left out (${left[0]}); judged on ${clean.length}`,
            );
          }
        }
        baselineRef = {
          source: 'store',
          file: path.join(dir, `${slo.id}.json`),
          commit: entry.commit,
          createdAt: entry.createdAt,
        };
      }
    }

    const entry: BaselineEntry = {
      commit,
      createdAt: new Date(started).toISOString(),
      profile,
      loadKey,
      load: plan.load,
      machine: machineInfo(),
      rounds: measurement.rounds,
    };
    const written: string[] = [];
    const keep = baselineKeep(env);
    if (dir) {
      written.push(writeBaseline(path.join(reportDir(), 'baselines'), slo.id, stored, entry, keep));
      if (update) written.push(writeBaseline(dir, slo.id, stored, entry, keep));
    }

    return {
      sloId: slo.id,
      name: slo.name,
      method: slo.endpoint.method,
      path: slo.endpoint.path,
      profile,
      load: plan.load,
      budgets: plan.budgets,
      status: verdict.status,
      verdict,
      measurement,
      ...(baseMeasurement ? { base: baseMeasurement } : {}),
      ...(regression ? { regression } : {}),
      ...(baselineRef ? { baseline: baselineRef } : {}),
      baselineWritten: written,
      engine: 'in-process',
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      ...(options.keepRecords ? { records: { head: headRuns, ...(base ? { base: baseRuns } : {}) } } : {}),
    };
  } finally {
    await gen?.close();
    for (const t of opened.reverse()) await t.close();
  }
}
