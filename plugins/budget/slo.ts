import { type Duration, toMs } from './duration.ts';
import { SloError } from './errors.ts';
import { positive, resolveBudgets, resolveLoad } from './normalise.ts';

/**
 * SLOs as code: `defineSlo({ id, endpoint, load, budgets })` validates a definition up front
 * (every problem at once) and returns it normalised: durations in milliseconds, latency budgets
 * in milliseconds, error rates as fractions. The same object drives the in-process budget
 * (`measure`), the k6 script generator and the baseline store.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** What a request factory returns; missing fields come from the endpoint. */
export interface RequestInit {
  method?: HttpMethod;
  path?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON (with `content-type: application/json`). */
  body?: unknown;
}

/** The endpoint an SLO is about. */
export interface Endpoint {
  method: HttpMethod;
  /** Path and query, e.g. `/api/tickets?limit=20`; with `request`, a route label such as `/api/tickets/:id`. */
  path: string;
  headers?: Record<string, string>;
  /** Static body: a string as is, anything else as JSON. */
  body?: unknown;
  /**
   * Request factory `(i) => RequestInit`, i = 0, 1, 2… Called in the test process before the
   * run to build the request pool, so building requests costs the load generator nothing.
   */
  request?: (i: number) => RequestInit;
  /** Statuses that count as success. Default: any 2xx or 3xx. */
  expectStatus?: number | readonly number[];
}

/** One stage of a ramp: reach `target` (VUs or requests per second) linearly over `duration`. */
export interface Stage {
  duration: Duration;
  target: number;
}

/** How load is generated. */
export type LoadProfile =
  /** Open loop: `rps` arrivals per second, evenly spaced, whatever the server does. */
  | { kind: 'rate'; rps: number; duration: Duration; maxConnections?: number }
  /** Closed loop: `vus` connections, each sending its next request as soon as the last one finished. */
  | { kind: 'burst'; vus: number; duration: Duration }
  /** Ramps: `unit: 'vus'` (closed loop, k6 ramping-vus) or `unit: 'rps'` (open loop, k6 ramping-arrival-rate). */
  | { kind: 'stages'; unit: 'vus' | 'rps'; start?: number; stages: readonly Stage[]; maxConnections?: number };

/** Budgets: latency percentiles are upper limits (strict `<`), `errorRate` a fraction, `minRps` a floor. */
export interface Budgets {
  p50?: Duration;
  p95?: Duration;
  p99?: Duration;
  /** Maximum error rate as a fraction: 0.001 = 0.1 %. */
  errorRate?: number;
  /** Minimum successful responses per second. */
  minRps?: number;
}

/** Named profiles that scale the same SLO. */
export type ProfileName = 'smoke' | 'normal' | 'stress' | 'soak';
export const PROFILE_NAMES: readonly ProfileName[] = ['smoke', 'normal', 'stress', 'soak'];

/** Per-SLO override of a profile: an explicit load, scale factors, and/or different budgets. */
export interface ProfileOverride {
  load?: LoadProfile;
  scale?: { load?: number; duration?: number };
  budgets?: Budgets;
}

export interface SloDefinition {
  /** Stable id (`[a-z0-9._-]`): names the baseline file, the k6 tag and the report record. */
  id: string;
  /** Display name. Default: `<METHOD> <path>`. */
  name?: string;
  endpoint: Endpoint;
  load: LoadProfile;
  budgets: Budgets;
  profiles?: Partial<Record<ProfileName, ProfileOverride>>;
  /** Per-request timeout. Default: the larger of 10 s and 3× the largest latency budget. */
  timeout?: Duration;
  /** Unmeasured warm-up before each target's first round. Default: 20 % of the duration, at most 2 s. */
  warmup?: Duration;
  /** Pause between a VU's requests (`burst` and `stages` in VUs). Default 0. */
  thinkTime?: Duration;
  /** `Server-Timing` metric reported as server-side time. Default `app`. */
  serverTiming?: string;
}

/** Latency budgets in ms, error rate as a fraction, throughput floor in requests/s. */
export interface ResolvedBudgets {
  p50?: number;
  p95?: number;
  p99?: number;
  errorRate?: number;
  minRps?: number;
}

/** Load with every duration in ms. */
export type ResolvedLoad =
  | { kind: 'rate'; rps: number; durationMs: number; maxConnections?: number }
  | { kind: 'burst'; vus: number; durationMs: number }
  | {
      kind: 'stages';
      unit: 'vus' | 'rps';
      start: number;
      stages: readonly { durationMs: number; target: number }[];
      maxConnections?: number;
    };

const SLO_BRAND: unique symbol = Symbol.for('shipgate.slo');

/** A validated, normalised SLO (what `defineSlo` returns). */
export interface Slo {
  readonly [SLO_BRAND]: true;
  readonly id: string;
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly load: ResolvedLoad;
  readonly budgets: ResolvedBudgets;
  readonly profiles: Partial<
    Record<ProfileName, { load?: ResolvedLoad; scale?: ProfileOverride['scale']; budgets?: ResolvedBudgets }>
  >;
  /** ms, or undefined for the default. */
  readonly timeoutMs?: number;
  readonly warmupMs?: number;
  readonly thinkTimeMs: number;
  readonly serverTiming: string;
}

/** True for what `defineSlo` returned. */
export function isSlo(value: unknown): value is Slo {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SLO_BRAND] === true;
}

/** The highest request rate a load can ask for (open loop), or undefined for closed loops. */
export function peakRate(load: ResolvedLoad): number | undefined {
  if (load.kind === 'rate') return load.rps;
  if (load.kind === 'stages' && load.unit === 'rps') return Math.max(load.start, ...load.stages.map((s) => s.target));
  return undefined;
}

/** Total duration of a load in ms. */
export function loadDurationMs(load: ResolvedLoad): number {
  return load.kind === 'stages' ? load.stages.reduce((sum, s) => sum + s.durationMs, 0) : load.durationMs;
}

/**
 * Defines an SLO. Throws {@link SloError} listing every problem: unknown load kinds, bad
 * durations, budgets that could never pass (a throughput floor above an open-loop rate), ….
 */
export function defineSlo(def: SloDefinition): Slo {
  const problems: string[] = [];
  const id = def?.id;
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(id)) {
    problems.push(
      `id is ${JSON.stringify(id)}; expected letters, digits, ".", "_" or "-" (it names the baseline file)`,
    );
  }
  const ep = def?.endpoint;
  if (!ep || typeof ep !== 'object') problems.push('endpoint is missing; expected { method, path }');
  else {
    if (!METHODS.includes(ep.method)) {
      problems.push(`endpoint.method is ${JSON.stringify(ep.method)}; expected one of ${METHODS.join(', ')}`);
    }
    if (typeof ep.path !== 'string' || !ep.path.startsWith('/')) {
      problems.push(`endpoint.path is ${JSON.stringify(ep.path)}; expected a path starting with "/"`);
    }
    if (ep.request !== undefined && typeof ep.request !== 'function') {
      problems.push(
        `endpoint.request is ${typeof ep.request}; expected a function (i) => ({ path?, body?, headers? })`,
      );
    }
    const statuses = ep.expectStatus === undefined ? [] : [ep.expectStatus].flat();
    for (const s of statuses) {
      if (!(Number.isInteger(s) && s >= 100 && s <= 599)) {
        problems.push(`endpoint.expectStatus contains ${JSON.stringify(s)}; expected HTTP statuses 100–599`);
      }
    }
  }
  const load = resolveLoad(def?.load, 'load', problems);
  const budgets = resolveBudgets(def?.budgets, 'budgets', problems);
  if (def?.budgets && Object.keys(budgets).length === 0 && problems.length === 0) {
    problems.push('budgets is empty; set at least one of p50, p95, p99, errorRate, minRps');
  }
  const checkFloor = (l: ResolvedLoad | undefined, b: ResolvedBudgets, at: string) => {
    const peak = l && peakRate(l);
    if (peak !== undefined && b.minRps !== undefined && b.minRps > peak) {
      problems.push(`${at}: minRps ${b.minRps} exceeds the load's peak rate ${peak} rps, so it can never pass`);
    }
  };
  checkFloor(load, budgets, 'budgets');

  const profiles: Slo['profiles'] = {};
  for (const [name, override] of Object.entries(def?.profiles ?? {})) {
    if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
      problems.push(`profiles.${name} is not a profile; expected ${PROFILE_NAMES.join(', ')}`);
      continue;
    }
    if (!override) continue;
    const at = `profiles.${name}`;
    const pLoad = override.load ? resolveLoad(override.load, `${at}.load`, problems) : undefined;
    const pBudgets = override.budgets ? resolveBudgets(override.budgets, `${at}.budgets`, problems) : undefined;
    for (const key of ['load', 'duration'] as const) {
      const f = override.scale?.[key];
      if (f !== undefined && !positive(f))
        problems.push(`${at}.scale.${key} is ${JSON.stringify(f)}; expected a factor > 0`);
    }
    checkFloor(pLoad ?? load, { ...budgets, ...pBudgets }, at);
    profiles[name as ProfileName] = { load: pLoad, scale: override.scale, budgets: pBudgets };
  }

  const optionalMs = (d: Duration | undefined, key: string, allowZero: boolean): number | undefined => {
    if (d === undefined) return undefined;
    const ms = toMs(d);
    if (!(ms > 0 || (allowZero && ms === 0))) {
      problems.push(`${key} is ${JSON.stringify(d)}; expected a ${allowZero ? 'non-negative' : 'positive'} duration`);
    }
    return ms;
  };
  const timeoutMs = optionalMs(def?.timeout, 'timeout', false);
  const warmupMs = optionalMs(def?.warmup, 'warmup', true);
  const thinkTimeMs = optionalMs(def?.thinkTime, 'thinkTime', true) ?? 0;
  if (def?.serverTiming !== undefined && !/^[A-Za-z0-9_.-]+$/.test(def.serverTiming)) {
    problems.push(
      `serverTiming is ${JSON.stringify(def.serverTiming)}; expected a Server-Timing metric name such as "app"`,
    );
  }

  if (problems.length || !load || !ep) throw new SloError(`"${typeof id === 'string' ? id : '?'}"`, problems);
  return Object.freeze({
    [SLO_BRAND]: true as const,
    id,
    name: def.name ?? `${ep.method} ${ep.path}`,
    endpoint: ep,
    load,
    budgets,
    profiles,
    timeoutMs,
    warmupMs,
    thinkTimeMs,
    serverTiming: def.serverTiming ?? 'app',
  });
}
