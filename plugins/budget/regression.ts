import type { RoundMetrics } from './analyze.ts';
import { formatMs } from './duration.ts';
import { requiredSamples } from './profiles.ts';
import { HOST_LIMITS } from './verdict.ts';

/**
 * Regression judgement under noise. Each side is a set of rounds (interleaved base/head rounds
 * in the same job, or a stored baseline's rounds against this run's). For each metric the
 * statistic is the median over rounds; a percentile bootstrap (rounds resampled with
 * replacement on each side, seeded so verdicts are reproducible) gives a one-sided 95 % bound
 * on the change. It is a regression only when that bound clears the threshold:
 * - latency percentiles: head/base ratio's lower bound > 1 + 15 %;
 * - error rate: head − base difference's lower bound > 2 percentage points;
 * - throughput (closed loops only; an open loop's rate is fixed by the schedule): ratio's
 *   upper bound < 1 − 10 %.
 * A side with a single round (a quick run against a stored baseline) is judged with a 95 %
 * prediction interval from the other side's rounds instead: mean ± t(k−1)·s·√(1 + 1/k) on the
 * log scale, since one round is one draw of the noise and k ≈ 5 rounds are too few for a
 * bootstrap to show its tails. With one round on both sides there is no noise estimate, and
 * nothing is judged.
 */

/** Default thresholds, from the seeds: latency +15 %, error rate +2 points, throughput −10 %. */
export const DEFAULT_THRESHOLDS = { latencyPct: 15, errorRatePoints: 2, throughputPct: 10 } as const;
export type RegressionThresholds = { latencyPct: number; errorRatePoints: number; throughputPct: number };

export type RegressionMetric = 'p50Ms' | 'p95Ms' | 'p99Ms' | 'errorRate' | 'rps';

export interface MetricComparison {
  key: RegressionMetric;
  /** Medians over rounds (ms for latency, fraction for error rate, requests/s for throughput). */
  base: number;
  head: number;
  /** Ratio change in % (latency, throughput) or difference in points (error rate). */
  delta: number;
  /** One-sided 95 % bounds of that change (same unit as `delta`). */
  low: number;
  high: number;
  /** The threshold `delta` is judged against (+15, +2, −10). */
  threshold: number;
  regression: boolean;
  /** The point estimate is past the threshold but the interval does not clear it. */
  suspected: boolean;
}

export interface RegressionReport {
  method: 'interleaved' | 'baseline';
  judged: boolean;
  regression: boolean;
  baseRounds: number;
  headRounds: number;
  comparisons: MetricComparison[];
  /** Why some or all metrics were not judged. */
  notes: string[];
}

/** mulberry32, seeded from a string: same input, same bootstrap, same verdict. */
export function rng(seed: string): () => number {
  let a = 2166136261;
  for (let i = 0; i < seed.length; i++) a = Math.imul(a ^ seed.charCodeAt(i), 16777619);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Median of a numeric list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/** Draws a bootstrap median of `values` (rounds resampled with replacement). */
function sampler(values: readonly number[], rand: () => number): () => number {
  const buf = new Array<number>(values.length);
  return () => {
    for (let i = 0; i < values.length; i++) buf[i] = values[Math.floor(rand() * values.length)] as number;
    return median(buf);
  };
}

/** One-sided 95 % Student t quantiles by degrees of freedom (1…30), then the normal 1.645. */
const T95 = [6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753];
function t95(df: number): number {
  if (df <= 15) return T95[Math.max(1, df) - 1] as number;
  return df <= 30 ? 1.753 - ((df - 15) / 15) * (1.753 - 1.697) : 1.645;
}

/**
 * Bounds for one new round against k rounds: a 95 % prediction interval,
 * mean ± t(k−1) · s · √(1 + 1/k), on the log scale for ratios (round latencies and throughputs
 * are skewed) and the plain scale for error-rate points. Returns the change's bounds.
 */
function predictionBounds(
  single: number,
  rounds: readonly number[],
  kind: 'ratio' | 'points',
  singleIsHead: boolean,
): [number, number] {
  const f = kind === 'ratio' ? (v: number) => Math.log(Math.max(v, 1e-12)) : (v: number) => v;
  const xs = rounds.map(f);
  const k = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / k;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1));
  const half = t95(k - 1) * sd * Math.sqrt(1 + 1 / k);
  const diff = singleIsHead ? f(single) - mean : mean - f(single);
  const [lo, hi] = [diff - half, diff + half];
  return kind === 'ratio' ? [(Math.exp(lo) - 1) * 100, (Math.exp(hi) - 1) * 100] : [lo * 100, hi * 100];
}

export interface CompareOptions {
  method: 'interleaved' | 'baseline';
  /** Latency percentiles to compare (those with budgets; p95 when none). */
  percentiles: readonly number[];
  /** Compare throughput (closed-loop loads only). */
  throughput: boolean;
  thresholds?: Partial<RegressionThresholds>;
  resamples?: number;
  seed?: string;
}

/** Compares head rounds with base rounds; see the module comment for the method. */
export function compareRounds(
  base: readonly RoundMetrics[],
  head: readonly RoundMetrics[],
  opts: CompareOptions,
): RegressionReport {
  const t = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
  const report: RegressionReport = {
    method: opts.method,
    judged: false,
    regression: false,
    baseRounds: base.length,
    headRounds: head.length,
    comparisons: [],
    notes: [],
  };
  if (base.length === 0 || head.length === 0) {
    report.notes.push('nothing to compare: a side has no rounds');
    return report;
  }
  if (base.length < 2 && head.length < 2) {
    report.notes.push(
      'not judged: one round on each side gives no estimate of the noise; run ≥ 5 rounds (SHIPGATE_BUDGET_ROUNDS)',
    );
    return report;
  }
  const B = opts.resamples ?? 2000;
  const rand = rng(opts.seed ?? 'shipgate');

  const judge = (
    key: RegressionMetric,
    b: number[],
    h: number[],
    kind: 'ratio-up' | 'ratio-down' | 'points-up',
    threshold: number,
  ) => {
    const mb = median(b);
    const mh = median(h);
    let low: number;
    let high: number;
    if (b.length < 2 || h.length < 2) {
      const headIsSingle = h.length < 2;
      [low, high] = predictionBounds(
        (headIsSingle ? h[0] : b[0]) as number,
        headIsSingle ? b : h,
        kind === 'points-up' ? 'points' : 'ratio',
        headIsSingle,
      );
    } else {
      const sb = sampler(b, rand);
      const sh = sampler(h, rand);
      const draws: number[] = new Array(B);
      for (let i = 0; i < B; i++) {
        const x = sb();
        const y = sh();
        draws[i] = kind === 'points-up' ? (y - x) * 100 : x === 0 ? (y === 0 ? 0 : Infinity) : (y / x - 1) * 100;
      }
      draws.sort((x, y) => x - y);
      low = quantile(draws, 0.05);
      high = quantile(draws, 0.95);
    }
    const delta = kind === 'points-up' ? (mh - mb) * 100 : mb === 0 ? (mh === 0 ? 0 : Infinity) : (mh / mb - 1) * 100;
    const regression = kind === 'ratio-down' ? high < threshold : low > threshold;
    const past = kind === 'ratio-down' ? delta < threshold : delta > threshold;
    report.comparisons.push({
      key,
      base: mb,
      head: mh,
      delta,
      low,
      high,
      threshold,
      regression,
      suspected: past && !regression,
    });
  };

  for (const p of opts.percentiles) {
    const needed = requiredSamples(p);
    const key = `p${p}Us` as 'p50Us' | 'p95Us' | 'p99Us';
    const thin = [...base, ...head].filter((r) => r.n < needed).length;
    if (thin > 0) {
      report.notes.push(`p${p} not compared: ${thin} round(s) have fewer than ${needed} samples`);
      continue;
    }
    judge(
      `p${p}Ms` as RegressionMetric,
      base.map((r) => r[key] / 1000),
      head.map((r) => r[key] / 1000),
      'ratio-up',
      t.latencyPct,
    );
  }
  judge(
    'errorRate',
    base.map((r) => r.errorRate),
    head.map((r) => r.errorRate),
    'points-up',
    t.errorRatePoints,
  );
  if (opts.throughput) {
    judge(
      'rps',
      base.map((r) => r.rps),
      head.map((r) => r.rps),
      'ratio-down',
      -t.throughputPct,
    );
  }
  if (base.length < 2 || head.length < 2) {
    report.notes.push(
      `one side has a single round: judged with a 95 % prediction interval from the other side's ${Math.max(base.length, head.length)} rounds`,
    );
  }
  report.judged = report.comparisons.length > 0;
  report.regression = report.comparisons.some((c) => c.regression);
  return report;
}

/**
 * The lateness guard on regression verdicts against a stored baseline. A round measured while
 * the machine was busier than when the baseline was recorded reads slower, though nothing in
 * the app changed: with one head round against a stored baseline, a busy neighbour gave 17 %
 * false regressions, and the false calls had a dispatch lag p99 3–5× the baseline's. Each
 * figure is compared with the median of the baseline's rounds, so a baseline recorded on an
 * equally busy machine (a CI runner's test phase) is a fair comparison. A head round is too
 * noisy to judge when:
 * - other processes kept more tasks runnable than during the baseline, by
 *   {@link NOISE_LIMITS}.othersTasks or more (one busy loop is 1; this process's own threads,
 *   an app served in it included, are left out, so a slower build is not taken for a
 *   neighbour). A neighbour slows the app even when no thread waits, through a shared core;
 * - a measuring thread waited for a CPU for over {@link NOISE_LIMITS}.factor × the baseline's
 *   share of the round and {@link NOISE_LIMITS}.waitShare more, or crossed the budget
 *   verdict's starvation limits ({@link HOST_LIMITS}) where the baseline did not;
 * - its generator dispatch lag p99 (open loop) or timer lateness p99 is over
 *   {@link NOISE_LIMITS}.factor × the baseline's and more than {@link NOISE_LIMITS}.marginUs
 *   above it (over {@link NOISE_LIMITS}.absoluteUs when the baseline predates these figures).
 * `measureSlo` then runs more head rounds and judges the clean ones only, or says the
 * regression could not be judged.
 */
export const NOISE_LIMITS = { factor: 2, marginUs: 1000, absoluteUs: 3000, othersTasks: 0.5, waitShare: 0.03 } as const;

/** The median of one noise figure over `rounds`, those without it left out (undefined when none has it). */
function medianOf(rounds: readonly RoundMetrics[], pick: (r: RoundMetrics) => number | undefined): number | undefined {
  const v = rounds.map(pick).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? median(v) : undefined;
}

/** Why `head` is too noisy to judge against `base` (undefined when it is fine). */
export function noisyRound(base: readonly RoundMetrics[], head: RoundMetrics): string | undefined {
  const n = head.noise;
  if (!n) return undefined;
  const out: string[] = [];
  const baseMedian = (pick: (r: RoundMetrics) => number | undefined) => medianOf(base, pick);
  const against = (b: number | undefined, f: (b: number) => string) =>
    b === undefined ? '' : ` against the baseline's ${f(b)}`;

  if (n.othersRunnable !== undefined && Number.isFinite(n.othersRunnable)) {
    const b = baseMedian((r) => r.noise?.othersRunnable);
    if (n.othersRunnable - (b ?? 0) >= NOISE_LIMITS.othersTasks) {
      out.push(`other processes kept ${n.othersRunnable.toFixed(1)} tasks runnable${against(b, (v) => v.toFixed(1))}`);
    }
  }
  if (n.cpuWait !== undefined && Number.isFinite(n.cpuWait)) {
    const b = baseMedian((r) => r.noise?.cpuWait);
    const relative = b !== undefined && n.cpuWait > Math.max(b * NOISE_LIMITS.factor, b + NOISE_LIMITS.waitShare);
    const starved = n.cpuWait >= HOST_LIMITS.maxCpuWait && (b === undefined || b < HOST_LIMITS.maxCpuWait);
    if (relative || starved) {
      const pct = (v: number) => `${(v * 100).toFixed(0)} %`;
      out.push(`a measuring thread waited for a CPU ${pct(n.cpuWait)} of the round${against(b, pct)}`);
    }
  }
  if (n.runQueuePerCore !== undefined && n.runQueuePerCore >= HOST_LIMITS.maxRunQueuePerCore) {
    const b = baseMedian((r) => r.noise?.runQueuePerCore);
    if (b === undefined || b < HOST_LIMITS.maxRunQueuePerCore) {
      out.push(`${n.runQueuePerCore.toFixed(1)} runnable tasks per core`);
    }
  }
  const check = (label: string, value: number | undefined, pick: (r: RoundMetrics) => number | undefined) => {
    if (value === undefined || !Number.isFinite(value)) return;
    const b = baseMedian(pick);
    const limit =
      b === undefined ? NOISE_LIMITS.absoluteUs : Math.max(b * NOISE_LIMITS.factor, b + NOISE_LIMITS.marginUs);
    if (value > limit) out.push(`${label} ${formatMs(value / 1000)}${against(b, (v) => formatMs(v / 1000))}`);
  };
  if (n.lagP99Us > 0) check('dispatch lag p99', n.lagP99Us, (r) => r.noise?.lagP99Us);
  check('timer lateness p99', n.lateP99Us, (r) => r.noise?.lateP99Us);
  return out.length ? out.join(', ') : undefined;
}

/** A latency factor and an added time, µs (see {@link noiseAllowance}). */
export interface NoiseAllowance {
  factor: number;
  addUs: number;
}

/**
 * How much slower the noise measured in `head` could have made it than the baseline's rounds
 * were: the factor by which its latencies may be inflated and the time a late generator may
 * have added to each. A regression larger than that is called even when every head round was
 * noisy (a build 20× slower is not hidden by a busy CI runner); one within it is not judged.
 * - CPU contention: (other runnable tasks + cores) / (the baseline's + cores), and a measuring
 *   thread's CPU wait as (1 − the baseline's wait) / (1 − the head's);
 * - the product squared, since a server near saturation queues more than its lost CPU share;
 * - the dispatch lag and timer lateness p99 over the baseline's, added to every latency.
 */
export function noiseAllowance(base: readonly RoundMetrics[], head: RoundMetrics): NoiseAllowance {
  const n = head.noise;
  if (!n) return { factor: 1, addUs: 0 };
  const baseMedian = (pick: (r: RoundMetrics) => number | undefined) => medianOf(base, pick);
  let factor = 1;
  if (n.othersRunnable !== undefined && n.cores) {
    const b = baseMedian((r) => r.noise?.othersRunnable) ?? 0;
    factor *= Math.max(1, (n.othersRunnable + n.cores) / (b + n.cores));
  }
  if (n.cpuWait !== undefined) {
    const cap = (w: number) => Math.min(Math.max(w, 0), 0.9);
    const b = baseMedian((r) => r.noise?.cpuWait) ?? 0;
    factor *= Math.max(1, (1 - cap(b)) / (1 - cap(n.cpuWait)));
  }
  const over = (value: number | undefined, pick: (r: RoundMetrics) => number | undefined) =>
    value === undefined || !Number.isFinite(value) ? 0 : Math.max(0, value - (baseMedian(pick) ?? 0));
  const addUs = Math.max(
    n.lagP99Us > 0 ? over(n.lagP99Us, (r) => r.noise?.lagP99Us) : 0,
    over(n.lateP99Us, (r) => r.noise?.lateP99Us),
  );
  return { factor: factor * factor, addUs };
}

/**
 * `head` with the noise `noiseAllowance` measured taken out in the head's favour: latencies
 * less the added time, divided by the factor; throughput multiplied by it.
 */
export function withoutNoise(head: RoundMetrics, allowance: NoiseAllowance): RoundMetrics {
  const deflate = (us: number) => Math.max(0, us - allowance.addUs) / allowance.factor;
  return {
    ...head,
    p50Us: deflate(head.p50Us),
    p95Us: deflate(head.p95Us),
    p99Us: deflate(head.p99Us),
    rps: head.rps * allowance.factor,
  };
}
