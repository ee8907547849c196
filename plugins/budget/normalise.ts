import { type Duration, toMs } from './duration.ts';
import type { Budgets, LoadProfile, ResolvedBudgets, ResolvedLoad } from './slo.ts';

/** Validation and normalisation of SLO loads and budgets; problems are collected, not thrown. */

export const positive = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

export function resolveLoad(load: LoadProfile | undefined, at: string, problems: string[]): ResolvedLoad | undefined {
  if (!load || typeof load !== 'object') {
    problems.push(
      `${at} is ${load === undefined ? 'missing' : typeof load}; expected { kind: 'rate' | 'burst' | 'stages', … }`,
    );
    return undefined;
  }
  const duration = (d: Duration | undefined, key: string): number => {
    const ms = d === undefined ? Number.NaN : toMs(d);
    if (!(ms > 0))
      problems.push(`${at}.${key} is ${JSON.stringify(d)}; expected a positive duration such as "30s" or 30000`);
    return ms;
  };
  const maxConnections = (load as { maxConnections?: unknown }).maxConnections;
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && (maxConnections as number) >= 1)) {
    problems.push(`${at}.maxConnections is ${JSON.stringify(maxConnections)}; expected an integer ≥ 1`);
  }
  switch (load.kind) {
    case 'rate': {
      if (!positive(load.rps)) problems.push(`${at}.rps is ${JSON.stringify(load.rps)}; expected a number > 0`);
      return {
        kind: 'rate',
        rps: load.rps,
        durationMs: duration(load.duration, 'duration'),
        maxConnections: load.maxConnections,
      };
    }
    case 'burst': {
      if (!(Number.isInteger(load.vus) && load.vus >= 1)) {
        problems.push(`${at}.vus is ${JSON.stringify(load.vus)}; expected an integer ≥ 1`);
      }
      return { kind: 'burst', vus: load.vus, durationMs: duration(load.duration, 'duration') };
    }
    case 'stages': {
      if (load.unit !== 'vus' && load.unit !== 'rps') {
        problems.push(`${at}.unit is ${JSON.stringify(load.unit)}; expected "vus" or "rps"`);
      }
      const start = load.start ?? 0;
      if (!(typeof start === 'number' && start >= 0))
        problems.push(`${at}.start is ${JSON.stringify(start)}; expected ≥ 0`);
      if (!Array.isArray(load.stages) || load.stages.length === 0) {
        problems.push(`${at}.stages is ${JSON.stringify(load.stages)}; expected at least one { duration, target }`);
        return undefined;
      }
      const stages = load.stages.map((s, i) => {
        if (!(typeof s.target === 'number' && s.target >= 0 && Number.isFinite(s.target))) {
          problems.push(`${at}.stages[${i}].target is ${JSON.stringify(s.target)}; expected a number ≥ 0`);
        }
        if (load.unit === 'vus' && !Number.isInteger(s.target)) {
          problems.push(`${at}.stages[${i}].target is ${s.target}; VU targets must be integers`);
        }
        return { durationMs: duration(s.duration, `stages[${i}].duration`), target: s.target };
      });
      if (Math.max(start, ...stages.map((s) => s.target)) <= 0) {
        problems.push(`${at}: every stage target is 0, so no request would be sent`);
      }
      return { kind: 'stages', unit: load.unit, start, stages, maxConnections: load.maxConnections };
    }
    default:
      problems.push(
        `${at}.kind is ${JSON.stringify((load as { kind?: unknown }).kind)}; expected "rate", "burst" or "stages"`,
      );
      return undefined;
  }
}

export function resolveBudgets(b: Budgets | undefined, at: string, problems: string[]): ResolvedBudgets {
  if (!b || typeof b !== 'object') {
    problems.push(
      `${at} is ${b === undefined ? 'missing' : typeof b}; expected { p95?, p99?, p50?, errorRate?, minRps? }`,
    );
    return {};
  }
  const out: ResolvedBudgets = {};
  for (const key of ['p50', 'p95', 'p99'] as const) {
    const v = b[key];
    if (v === undefined) continue;
    const ms = toMs(v);
    if (!(ms > 0))
      problems.push(`${at}.${key} is ${JSON.stringify(v)}; expected a positive duration such as 200 or "1.5s"`);
    else out[key] = ms;
  }
  if (b.errorRate !== undefined) {
    if (!(typeof b.errorRate === 'number' && b.errorRate >= 0 && b.errorRate < 1)) {
      problems.push(
        `${at}.errorRate is ${JSON.stringify(b.errorRate)}; expected a fraction in [0, 1), e.g. 0.001 for 0.1 %`,
      );
    } else out.errorRate = b.errorRate;
  }
  if (b.minRps !== undefined) {
    if (!positive(b.minRps)) problems.push(`${at}.minRps is ${JSON.stringify(b.minRps)}; expected a number > 0`);
    else out.minRps = b.minRps;
  }
  const known = new Set(['p50', 'p95', 'p99', 'errorRate', 'minRps']);
  for (const key of Object.keys(b)) {
    if (!known.has(key)) problems.push(`${at}.${key} is not a budget; expected p50, p95, p99, errorRate or minRps`);
  }
  return out;
}
