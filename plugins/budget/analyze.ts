import * as hdr from 'hdr-histogram-js';
import type { HostSample } from './host-load.ts';
import { type GeneratorStats, REQUEST_ERROR, REQUEST_ERROR_NAMES, type RequestRecord, traceIdOf } from './wire.ts';

/**
 * Turns per-request records into statistics. Percentiles use the nearest-rank method on the
 * full record of unrounded microsecond latencies (sorted copy; the p-th percentile is the
 * smallest latency with at least p % of requests at or below it). Latencies count from each
 * request's scheduled send time. HDR histograms (3 significant digits, integer µs) are kept
 * only for storage in baselines, never for the verdict.
 */

/** Nearest-rank percentile of an ascending array. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (p <= 0) return sorted[0] as number;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, rank) - 1] as number;
}

export interface LatencyStats {
  n: number;
  minUs: number;
  p50Us: number;
  p90Us: number;
  p95Us: number;
  p99Us: number;
  /** p99.9 */
  p999Us: number;
  maxUs: number;
  meanUs: number;
}

function latencyStats(sorted: Float64Array): LatencyStats {
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    minUs: sorted.length ? (sorted[0] as number) : Number.NaN,
    p50Us: percentileSorted(sorted, 50),
    p90Us: percentileSorted(sorted, 90),
    p95Us: percentileSorted(sorted, 95),
    p99Us: percentileSorted(sorted, 99),
    p999Us: percentileSorted(sorted, 99.9),
    maxUs: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    meanUs: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** One round against one target, as stored in baselines and compared for regressions. */
export interface RoundMetrics {
  /** Requests with a latency (responses and timeouts). */
  n: number;
  /** All recorded requests, errors included. */
  requests: number;
  errors: number;
  errorRate: number;
  /** Successful responses per second of planned load. */
  rps: number;
  p50Us: number;
  p95Us: number;
  p99Us: number;
  /** HDR histogram of latencies (integer µs), compressed base64. */
  histogram: string;
  /**
   * How noisy the round was, for the regression guard (regression.ts `noisyRound`); absent in
   * baselines written before it. The generator's dispatch lag p99 (open loop; 0 for closed
   * loops) and its timer lateness p99, µs; the worst CPU wait of a measuring thread (share of
   * the round); the run queue per core.
   */
  noise?: {
    lagP99Us: number;
    lateP99Us?: number;
    cpuWait?: number;
    runQueuePerCore?: number;
    /** Mean tasks other processes kept runnable over the round (run queue less this process's own). */
    othersRunnable?: number;
    /** `os.availableParallelism()` when the round ran. */
    cores?: number;
  };
}

/** One request worth showing: the slowest ones, with their trace ids. */
export interface SlowRequest {
  traceId: string;
  latencyMs: number;
  /** Server-side time from `Server-Timing`, when the app sent it. */
  serverMs?: number;
  status: number;
  error?: string;
  /** Scheduled send time, ms into its round. */
  atMs: number;
  round: number;
}

export interface GeneratorHealth {
  engine: GeneratorStats['engine'];
  /** Highest event-loop utilisation of the generator over the rounds. */
  elu: number;
  /** Highest share of a core the generator thread used. */
  cpu: number;
  /** p99 of dispatch lateness, µs (open loop; 0 for closed loops). */
  lagP99Us: number;
  /** Open loop: lowest (dispatched + dropped) / planned-time ratio of a round, in requests/s, and its target. */
  achievedRps?: number;
  targetRps?: number;
  /** How starved of CPU the host was: each figure is the worst round's (see host-load.ts). */
  host?: HostSample;
}

/** The worst of each host figure over the rounds. */
function worstHost(runs: readonly RoundRun[]): HostSample | undefined {
  let out: HostSample | undefined;
  const keys = ['runQueue', 'generatorWait', 'serverWait', 'steal', 'lateP99Us'] as const;
  for (const run of runs) {
    const h = run.stats.host;
    if (!h) continue;
    out ??= { cores: h.cores };
    for (const k of keys) {
      const v = h[k];
      if (v !== undefined && Number.isFinite(v)) out[k] = Math.max(out[k] ?? v, v);
    }
  }
  return out;
}

/** Everything measured against one target, rounds pooled. */
export interface Measurement {
  rounds: RoundMetrics[];
  /** Requests with a latency, pooled over rounds. */
  n: number;
  requests: number;
  errors: number;
  errorRate: number;
  errorsByKind: Record<string, number>;
  statuses: Record<string, number>;
  rps: number;
  latency: LatencyStats;
  /**
   * The same requests timed from their actual dispatch instead of their schedule, i.e. without
   * the generator's own lateness: a lower bound of what the server is responsible for.
   */
  latencyFromDispatch: LatencyStats;
  /** `Server-Timing` of the same requests, when present. */
  server?: LatencyStats;
  dropped: number;
  abandoned: number;
  plannedUs: number;
  generator: GeneratorHealth;
  slowest: SlowRequest[];
  /** Pooled HDR histogram (integer µs), compressed base64. */
  histogram: string;
}

/** A finished round: the record, the generator's stats and the job's trace salt. */
export interface RoundRun {
  record: RequestRecord;
  stats: GeneratorStats;
  traceSalt: string;
}

function histogramOf(values: ArrayLike<number>): string {
  const h = hdr.build({
    bitBucketSize: 32,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    lowestDiscernibleValue: 1,
  });
  for (let i = 0; i < values.length; i++) h.recordValue(Math.max(1, Math.round(values[i] as number)));
  const out = hdr.encodeIntoCompressedBase64(h);
  h.destroy();
  return out;
}

/** Decodes a stored histogram and reads a percentile from it (µs, within 0.1 %). */
export function histogramPercentileUs(encoded: string, p: number): number {
  const h = hdr.decodeFromCompressedBase64(encoded);
  const v = h.getValueAtPercentile(p);
  h.destroy();
  return v;
}

/** Indices of entries that carry a latency: a response, or a timeout (censored at its wait). */
function hasLatency(r: RequestRecord, i: number): boolean {
  const e = r.error[i] as number;
  return e === REQUEST_ERROR.none || e === REQUEST_ERROR.timeout;
}

function roundMetrics(
  run: RoundRun,
  ok: (status: number) => boolean,
): { metrics: RoundMetrics; latencies: Float64Array } {
  const r = run.record;
  const lat: number[] = [];
  let errors = 0;
  for (let i = 0; i < r.n; i++) {
    if (hasLatency(r, i)) lat.push(r.latencyUs[i] as number);
    if (r.error[i] !== REQUEST_ERROR.none || !ok(r.status[i] as number)) errors++;
  }
  const sorted = Float64Array.from(lat).sort();
  const seconds = run.stats.plannedUs / 1e6;
  const h = run.stats.host;
  const waits = [h?.generatorWait, h?.serverWait].filter((v): v is number => v !== undefined && Number.isFinite(v));
  const noise: NonNullable<RoundMetrics['noise']> = {
    lagP99Us: run.stats.engine === 'open' ? percentileSorted(Float64Array.from(r.lagUs).sort(), 99) || 0 : 0,
  };
  if (h?.lateP99Us !== undefined && Number.isFinite(h.lateP99Us)) noise.lateP99Us = h.lateP99Us;
  if (waits.length) noise.cpuWait = Math.max(...waits);
  if (h?.runQueue !== undefined && Number.isFinite(h.runQueue)) {
    noise.runQueuePerCore = h.runQueue / h.cores;
    noise.cores = h.cores;
    // Runnable tasks that were not this process's: its own threads were runnable for their CPU
    // time plus their CPU wait (the two threads measured; the rest barely wait on an idle host).
    if (h.ownCpu !== undefined && Number.isFinite(h.ownCpu)) {
      noise.othersRunnable = Math.max(0, h.runQueue - h.ownCpu - (h.generatorWait ?? 0) - (h.serverWait ?? 0));
    }
  }
  return {
    latencies: sorted,
    metrics: {
      n: sorted.length,
      requests: r.n,
      errors,
      errorRate: r.n ? errors / r.n : 0,
      rps: seconds > 0 ? (r.n - errors) / seconds : 0,
      p50Us: percentileSorted(sorted, 50),
      p95Us: percentileSorted(sorted, 95),
      p99Us: percentileSorted(sorted, 99),
      histogram: histogramOf(sorted),
      noise,
    },
  };
}

/** Summarises the rounds run against one target. `ok` says which statuses are successes. */
export function analyze(runs: readonly RoundRun[], ok: (status: number) => boolean, slowestCount = 5): Measurement {
  const rounds: RoundMetrics[] = [];
  const all: number[] = [];
  const fromDispatch: number[] = [];
  const server: number[] = [];
  const lags: number[] = [];
  const errorsByKind: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  let requests = 0;
  let errors = 0;
  let dropped = 0;
  let abandoned = 0;
  let plannedUs = 0;
  let elu = 0;
  let cpu = 0;
  let achievedRps: number | undefined;
  let targetRps: number | undefined;
  const candidates: { run: number; i: number; latencyUs: number }[] = [];

  runs.forEach((run, k) => {
    const { metrics, latencies } = roundMetrics(run, ok);
    rounds.push(metrics);
    for (const v of latencies) all.push(v);
    const r = run.record;
    requests += r.n;
    errors += metrics.errors;
    dropped += run.stats.dropped;
    abandoned += run.stats.abandoned;
    plannedUs += run.stats.plannedUs;
    elu = Math.max(elu, run.stats.elu);
    cpu = Math.max(cpu, run.stats.wallUs > 0 ? run.stats.cpuUs / run.stats.wallUs : 0);
    const roundLags: number[] = [];
    for (let i = 0; i < r.n; i++) {
      const status = r.status[i] as number;
      statuses[status === 0 ? 'none' : String(status)] = (statuses[status === 0 ? 'none' : String(status)] ?? 0) + 1;
      const e = r.error[i] as number;
      if (e !== REQUEST_ERROR.none) {
        const name = REQUEST_ERROR_NAMES[e] ?? 'error';
        errorsByKind[name] = (errorsByKind[name] ?? 0) + 1;
      }
      if (hasLatency(r, i)) {
        const s = r.serverUs[i] as number;
        if (!Number.isNaN(s)) server.push(s);
        fromDispatch.push((r.latencyUs[i] as number) - (r.lagUs[i] as number));
        candidates.push({ run: k, i, latencyUs: r.latencyUs[i] as number });
      }
      lags.push(r.lagUs[i] as number);
      roundLags.push(r.lagUs[i] as number);
    }
    if (run.stats.engine === 'open' && run.stats.planned > 0) {
      // The rate the generator delivered: what it sent (or dropped when no connection was free)
      // over the planned time plus its p90 lateness. A generator too slow for the rate falls
      // further behind with every request, so its lateness grows and the rate drops; a brief
      // stall of the machine that delays under 10 % of the requests does not count here (those
      // requests' latency already includes the delay, from their scheduled time).
      const target = run.stats.planned / (run.stats.plannedUs / 1e6);
      const p90Lag = percentileSorted(Float64Array.from(roundLags).sort(), 90) || 0;
      const achieved = (run.stats.dispatched + run.stats.dropped) / ((run.stats.plannedUs + p90Lag) / 1e6);
      if (achievedRps === undefined || achieved / target < achievedRps / (targetRps ?? target)) {
        achievedRps = achieved;
        targetRps = target;
      }
    }
  });
  candidates.sort((a, b) => b.latencyUs - a.latencyUs);
  const slowest = candidates.slice(0, slowestCount).map(({ run, i }) => {
    const r = (runs[run] as RoundRun).record;
    const s = r.serverUs[i] as number;
    const e = r.error[i] as number;
    return {
      traceId: traceIdOf((runs[run] as RoundRun).traceSalt, r.seq[i] as number),
      latencyMs: (r.latencyUs[i] as number) / 1000,
      ...(Number.isNaN(s) ? {} : { serverMs: s / 1000 }),
      status: r.status[i] as number,
      ...(e === REQUEST_ERROR.none ? {} : { error: REQUEST_ERROR_NAMES[e] }),
      atMs: (r.scheduledUs[i] as number) / 1000,
      round: run,
    };
  });
  const host = worstHost(runs);
  const sorted = Float64Array.from(all).sort();
  const sortedServer = Float64Array.from(server).sort();
  const sortedLag = Float64Array.from(lags).sort();
  const seconds = plannedUs / 1e6;
  return {
    rounds,
    n: sorted.length,
    requests,
    errors,
    errorRate: requests ? errors / requests : 0,
    errorsByKind,
    statuses,
    rps: seconds > 0 ? (requests - errors) / seconds : 0,
    latency: latencyStats(sorted),
    latencyFromDispatch: latencyStats(Float64Array.from(fromDispatch).sort()),
    ...(sortedServer.length ? { server: latencyStats(sortedServer) } : {}),
    dropped,
    abandoned,
    plannedUs,
    generator: {
      engine: runs[0]?.stats.engine ?? 'open',
      elu,
      cpu,
      lagP99Us: percentileSorted(sortedLag, 99) || 0,
      ...(achievedRps === undefined ? {} : { achievedRps, targetRps }),
      ...(host ? { host } : {}),
    },
    slowest,
    histogram: histogramOf(sorted),
  };
}
