import { randomBytes } from 'node:crypto';
import type { RunPlan } from './profiles.ts';
import { buildRequests, CLOSED_LOOP_POOL } from './requests.ts';
import { arrivalTimesUs, toStages } from './schedule.ts';
import type { ResolvedLoad } from './slo.ts';
import type { GeneratorJob } from './wire.ts';

/** Turning a run plan into the generator's jobs: measurement rounds and warm-ups. */

/** Default cap on in-flight requests for open loops: the peak rate times the timeout, within 16…1024. */
export function defaultMaxConnections(peakRps: number, timeoutMs: number): number {
  return Math.min(1024, Math.max(16, Math.ceil(peakRps * (timeoutMs / 1000))));
}

/** Builds the generator job for `load` (measurement or warm-up). Returns it and the request count it consumes. */
export function jobFor(
  plan: RunPlan,
  load: ResolvedLoad,
  origin: string,
  offset: number,
): { job: GeneratorJob; used: number } {
  const ep = plan.slo.endpoint;
  const base = {
    origin,
    timeoutMs: plan.timeoutMs,
    thinkTimeUs: plan.slo.thinkTimeMs * 1000,
    serverTiming: plan.slo.serverTiming,
    traceSalt: randomBytes(8).toString('hex'),
  };
  if (load.kind === 'rate' || (load.kind === 'stages' && load.unit === 'rps')) {
    const rateStages =
      load.kind === 'rate'
        ? [{ durationUs: load.durationMs * 1000, from: load.rps, to: load.rps }]
        : toStages(load.start, load.stages);
    const count = arrivalTimesUs(rateStages).length;
    const poolSize = Math.min(count, 200_000);
    const peak = Math.max(...rateStages.flatMap((s) => [s.from, s.to]));
    const durationUs = rateStages.reduce((s, x) => s + x.durationUs, 0);
    return {
      job: {
        ...base,
        engine: 'open',
        rateStages,
        durationUs,
        requests: buildRequests(ep, offset, Math.max(1, poolSize)),
        maxConnections: load.maxConnections ?? defaultMaxConnections(peak, plan.timeoutMs),
      },
      used: count,
    };
  }
  const requests = buildRequests(ep, offset, CLOSED_LOOP_POOL);
  if (load.kind === 'burst') {
    return {
      job: {
        ...base,
        engine: 'burst',
        vus: load.vus,
        durationUs: load.durationMs * 1000,
        requests,
        maxConnections: load.vus,
      },
      used: requests.length,
    };
  }
  const vuStages = toStages(load.start, load.stages);
  return {
    job: {
      ...base,
      engine: 'vus',
      vuStages,
      durationUs: vuStages.reduce((s, x) => s + x.durationUs, 0),
      requests,
      maxConnections: Math.max(1, ...vuStages.flatMap((s) => [s.from, s.to])),
    },
    used: requests.length,
  };
}

/** A short warm-up at the plan's intensity (peak/2 for ramps), not recorded. */
export function warmupLoad(plan: RunPlan): ResolvedLoad | undefined {
  const ms = plan.warmupMs;
  if (ms <= 0) return undefined;
  const l = plan.load;
  if (l.kind === 'rate') return { kind: 'rate', rps: l.rps, durationMs: ms, maxConnections: l.maxConnections };
  if (l.kind === 'burst') return { kind: 'burst', vus: l.vus, durationMs: ms };
  const peak = Math.max(l.start, ...l.stages.map((s) => s.target));
  return l.unit === 'vus'
    ? { kind: 'burst', vus: Math.max(1, Math.round(peak / 2)), durationMs: ms }
    : { kind: 'rate', rps: Math.max(1, peak / 2), durationMs: ms, maxConnections: l.maxConnections };
}
