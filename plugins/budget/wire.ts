import type { HostSample } from './host-load.ts';
import type { RateStage, VuStage } from './schedule.ts';

/**
 * What crosses the thread boundary between `measure()` (the test process's main thread, where
 * the app under test runs) and the load generator's worker thread: plain data and typed arrays.
 */

/** One prepared request. */
export interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Which load engine runs a job. */
export type EngineKind = 'open' | 'vus' | 'burst';

/** One run of the generator against one target. */
export interface GeneratorJob {
  origin: string;
  requests: WireRequest[];
  engine: EngineKind;
  /** `open`: arrival rate over time. */
  rateStages?: RateStage[];
  /** `vus`: VU count over time. */
  vuStages?: VuStage[];
  /** `burst`: fixed concurrency. */
  vus?: number;
  durationUs: number;
  /** At most this many requests in flight (open loop); a request due while all are busy is dropped. */
  maxConnections: number;
  timeoutMs: number;
  thinkTimeUs: number;
  /** `Server-Timing` metric to record. */
  serverTiming: string;
  /** 16 hex digits; with the request sequence number it forms each request's W3C trace id. */
  traceSalt: string;
  /** This thread's share of a job split over `of` threads (set by the generator, not by callers). */
  part?: { index: number; of: number; startAtMs: number };
}

/** The share of a job this thread runs: all of it unless the generator split it. */
export function partOf(job: GeneratorJob): { index: number; of: number } {
  return job.part ?? { index: 0, of: 1 };
}

/** Absolute time in ms (`performance.timeOrigin + performance.now()`): one clock for every thread. */
export function absoluteMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Why a request has no response. */
export const REQUEST_ERROR = { none: 0, timeout: 1, connection: 2, other: 3, lost: 4 } as const;
export const REQUEST_ERROR_NAMES = ['none', 'timeout', 'connection error', 'error', 'connection lost'] as const;

/** Per-request record, one column per field, `n` entries (in completion order). */
export interface RequestRecord {
  n: number;
  /** Sequence number (1-based, dispatch order); with the job's salt it gives the trace id. */
  seq: Uint32Array;
  /** Scheduled send time, µs since the job's start. */
  scheduledUs: Float64Array;
  /** Completion minus scheduled send time, µs (so generator or connection waits are never hidden). */
  latencyUs: Float64Array;
  /** Server-side time from `Server-Timing`, µs; NaN when absent. */
  serverUs: Float64Array;
  /** HTTP status; 0 when there was no response. */
  status: Uint16Array;
  /** {@link REQUEST_ERROR} code. */
  error: Uint8Array;
  /** Actual dispatch minus scheduled time, µs (the generator's own lateness). */
  lagUs: Float32Array;
}

/** The generator's account of itself for one job. */
export interface GeneratorStats {
  engine: EngineKind;
  /** `Date.now()` at the job's time zero. */
  startedAtEpochMs: number;
  /** The monotonic clock (`process.hrtime`, shared by every process on the machine) at time zero, ms. */
  startedAtMonotonicMs: number;
  /** Planned load duration, µs. */
  plannedUs: number;
  /** From time zero until the last response or error, µs. */
  wallUs: number;
  /** Open loop: requests the schedule asked for. */
  planned: number;
  dispatched: number;
  completed: number;
  /** Open loop: due while every connection was busy, so never sent. */
  dropped: number;
  /** Still in flight when the grace period after the load ended ran out. */
  abandoned: number;
  /** The worker's event-loop utilisation over the job (0–1). */
  elu: number;
  /** The worker thread's CPU time over the job, µs. */
  cpuUs: number;
  maxInFlight: number;
  /** Generator threads the job ran on (elu and cpuUs are the busiest thread's). */
  threads?: number;
  /** How starved of CPU the host was over the job (see host-load.ts). */
  host?: HostSample;
}

/** Worker → main messages. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; id: number; record: RequestRecord; stats: GeneratorStats }
  | { type: 'failed'; id: number; message: string; stack?: string };

/** Main → worker messages. */
export type MainMessage = { type: 'run'; id: number; job: GeneratorJob } | { type: 'exit' };

/** The W3C trace id of request `seq` in a job with `salt`. */
export function traceIdOf(salt: string, seq: number): string {
  return `${salt}${seq.toString(16).padStart(16, '0')}`;
}
