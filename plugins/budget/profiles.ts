import { envValue } from '../core/settings.ts';
import { SloError } from './errors.ts';
import {
  loadDurationMs,
  PROFILE_NAMES,
  type ProfileName,
  type ResolvedBudgets,
  type ResolvedLoad,
  type Slo,
} from './slo.ts';

/**
 * Named profiles scale one SLO: `smoke` for pull requests, `normal` as written, `stress` at
 * three times the load, `soak` twelve times as long. An SLO can override any profile with an
 * explicit load, its own scale factors, or different budgets.
 */

/** Default scale factors per profile. */
export const PROFILE_SCALES: Readonly<Record<ProfileName, { load: number; duration: number }>> = {
  smoke: { load: 1, duration: 0.1 },
  normal: { load: 1, duration: 1 },
  stress: { load: 3, duration: 1 },
  soak: { load: 1, duration: 12 },
};

/** Samples needed beyond a percentile: n ≥ TAIL_SAMPLES / (1 − p), so p95 needs 200 and p99 1000. */
export const TAIL_SAMPLES = 10;
/** The shortest smoke run, in ms. */
const SMOKE_MIN_MS = 2_000;

/** Samples a percentile needs before it can be judged: ⌈TAIL_SAMPLES / (1 − p/100)⌉. */
export function requiredSamples(percentile: number, tail = TAIL_SAMPLES): number {
  return Math.ceil(tail / (1 - percentile / 100) - 1e-9);
}

/** Everything one measurement needs, resolved from an SLO and a profile. */
export interface RunPlan {
  slo: Slo;
  profile: ProfileName;
  load: ResolvedLoad;
  budgets: ResolvedBudgets;
  durationMs: number;
  timeoutMs: number;
  warmupMs: number;
}

/** The profile from `SHIPGATE_BUDGET_PROFILE`, default `normal`; anything else is an error naming the variable. */
export function profileFromEnv(env: NodeJS.ProcessEnv = process.env): ProfileName {
  const value = envValue('SHIPGATE_BUDGET_PROFILE', env);
  if (value === undefined || value === '') return 'normal';
  if (!(PROFILE_NAMES as readonly string[]).includes(value)) {
    throw new SloError('profile', [`SHIPGATE_BUDGET_PROFILE is "${value}"; expected ${PROFILE_NAMES.join(', ')}`]);
  }
  return value as ProfileName;
}

/** Multiplies a load's intensity by `load` and its duration by `duration`. */
export function scaleLoad(l: ResolvedLoad, f: { load?: number; duration?: number }): ResolvedLoad {
  const k = f.load ?? 1;
  const d = f.duration ?? 1;
  switch (l.kind) {
    case 'rate':
      return { ...l, rps: l.rps * k, durationMs: l.durationMs * d };
    case 'burst':
      return { ...l, vus: Math.max(1, Math.round(l.vus * k)), durationMs: l.durationMs * d };
    case 'stages': {
      const scaleTarget = (t: number) => (l.unit === 'vus' ? Math.round(t * k) : t * k);
      return {
        ...l,
        start: scaleTarget(l.start),
        stages: l.stages.map((s) => ({ durationMs: s.durationMs * d, target: scaleTarget(s.target) })),
      };
    }
  }
}

/** The budgets' percentiles, as numbers (50, 95, 99). */
export function budgetPercentiles(b: ResolvedBudgets): number[] {
  return ([50, 95, 99] as const).filter((p) => b[`p${p}`] !== undefined);
}

/** Resolves the load, budgets and timings an SLO runs with under `profile`. */
export function resolveRun(slo: Slo, profile: ProfileName): RunPlan {
  const override = slo.profiles[profile];
  const budgets = { ...slo.budgets, ...override?.budgets };
  let load: ResolvedLoad;
  if (override?.load) load = override.load;
  else {
    load = scaleLoad(slo.load, { ...PROFILE_SCALES[profile], ...override?.scale });
    // A smoke run of an open-loop rate is sized to give the tightest percentile enough samples
    // (never longer than the normal run): a PR check that can only say "inconclusive" is useless.
    if (profile === 'smoke' && load.kind === 'rate' && slo.load.kind === 'rate' && !override?.scale?.duration) {
      const needed = Math.max(0, ...budgetPercentiles(budgets).map((p) => requiredSamples(p)));
      const forSamples = ((needed * 1.05) / load.rps) * 1000;
      load = {
        ...load,
        durationMs: Math.min(slo.load.durationMs, Math.max(load.durationMs, SMOKE_MIN_MS, Math.ceil(forSamples))),
      };
    }
  }
  const durationMs = loadDurationMs(load);
  const largestBudget = Math.max(0, budgets.p50 ?? 0, budgets.p95 ?? 0, budgets.p99 ?? 0);
  return {
    slo,
    profile,
    load,
    budgets,
    durationMs,
    timeoutMs: slo.timeoutMs ?? Math.max(10_000, 3 * largestBudget),
    warmupMs: slo.warmupMs ?? Math.min(2_000, Math.round(durationMs * 0.2)),
  };
}
