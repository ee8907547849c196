import { describe, expect, test } from 'vitest';
import {
  arrivalTimesUs,
  defineSlo,
  PROFILE_SCALES,
  profileFromEnv,
  requiredSamples,
  resolveRun,
  SloError,
  toMs,
} from '../../plugins/budget/index.ts';

const endpoint = { method: 'GET', path: '/api/tickets' } as const;

describe('defineSlo', () => {
  test('normalises durations and budgets and names the SLO after its endpoint', () => {
    const slo = defineSlo({
      id: 'tickets',
      endpoint,
      load: { kind: 'rate', rps: 20, duration: '1m30s' },
      budgets: { p95: '1.5s', p99: 2000, errorRate: 0.001 },
      timeout: '5s',
    });
    expect(slo.name).toBe('GET /api/tickets');
    expect(slo.load).toEqual({ kind: 'rate', rps: 20, durationMs: 90_000, maxConnections: undefined });
    expect(slo.budgets).toEqual({ p95: 1500, p99: 2000, errorRate: 0.001 });
    expect(slo.timeoutMs).toBe(5000);
    expect(toMs('250ms')).toBe(250);
    expect(toMs('2m')).toBe(120_000);
    expect(toMs('soon')).toBeNaN();
  });

  test('reports every problem at once, each with the observed value', () => {
    let err: unknown;
    try {
      defineSlo({
        id: 'bad id!',
        endpoint: { method: 'FETCH' as never, path: 'api' },
        load: { kind: 'rate', rps: -5, duration: 'forever' },
        budgets: { p95: 0, errorRate: 2, p90: 10 } as never,
        profiles: { nightly: {} } as never,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SloError);
    const problems = (err as SloError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('id is "bad id!"'),
        expect.stringContaining('endpoint.method is "FETCH"'),
        expect.stringContaining('endpoint.path is "api"'),
        expect.stringContaining('load.rps is -5'),
        expect.stringContaining('load.duration is "forever"'),
        expect.stringContaining('budgets.p95 is 0'),
        expect.stringContaining('budgets.errorRate is 2'),
        expect.stringContaining('budgets.p90 is not a budget'),
        expect.stringContaining('profiles.nightly is not a profile'),
      ]),
    );
    expect((err as Error).message).toMatch(/^Invalid SLO "bad id!" \(9 problems\)/);
  });

  test('a throughput floor above an open-loop rate can never pass, so it is refused', () => {
    expect(() =>
      defineSlo({ id: 'x', endpoint, load: { kind: 'rate', rps: 20, duration: '10s' }, budgets: { minRps: 50 } }),
    ).toThrow(/minRps 50 exceeds the load's peak rate 20 rps/);
  });
});

describe('profiles scale one SLO', () => {
  const slo = defineSlo({
    id: 'p',
    endpoint,
    load: { kind: 'rate', rps: 20, duration: '5m' },
    budgets: { p95: 800 },
    profiles: { stress: { budgets: { p95: 1200 } } },
  });

  test('normal runs as written; stress triples the load; soak runs 12 times as long', () => {
    expect(resolveRun(slo, 'normal').load).toMatchObject({ rps: 20, durationMs: 300_000 });
    expect(resolveRun(slo, 'stress').load).toMatchObject({ rps: 60, durationMs: 300_000 });
    expect(resolveRun(slo, 'stress').budgets.p95).toBe(1200);
    expect(resolveRun(slo, 'soak').load).toMatchObject({ rps: 20, durationMs: 3_600_000 });
    expect(PROFILE_SCALES.smoke).toEqual({ load: 1, duration: 0.1 });
  });

  test('smoke keeps the rate and runs just long enough for p95 to have its samples', () => {
    const plan = resolveRun(slo, 'smoke');
    expect(requiredSamples(95)).toBe(200);
    expect(requiredSamples(99)).toBe(1000);
    expect(requiredSamples(50)).toBe(20);
    expect(plan.load).toMatchObject({ kind: 'rate', rps: 20 });
    // 200 samples × 1.05 at 20/s = 10.5 s, longer than 10 % of 5 min (30 s)? No: 30 s wins.
    expect(plan.durationMs).toBe(30_000);
    const short = defineSlo({
      id: 's',
      endpoint,
      load: { kind: 'rate', rps: 20, duration: '60s' },
      budgets: { p95: 800 },
    });
    expect(resolveRun(short, 'smoke').durationMs).toBe(10_500);
  });

  test('ramps scale their targets and stage durations', () => {
    const spike = defineSlo({
      id: 'spike',
      endpoint,
      load: {
        kind: 'stages',
        unit: 'vus',
        start: 5,
        stages: [
          { duration: '10s', target: 20 },
          { duration: '10s', target: 0 },
        ],
      },
      budgets: { p95: '5s' },
    });
    expect(resolveRun(spike, 'stress').load).toMatchObject({ start: 15, stages: [{ target: 60 }, { target: 0 }] });
    expect(resolveRun(spike, 'smoke').load).toMatchObject({ stages: [{ durationMs: 1000 }, { durationMs: 1000 }] });
  });

  test('SHIPGATE_BUDGET_PROFILE picks the profile; a wrong value names the variable', () => {
    expect(profileFromEnv({})).toBe('normal');
    expect(profileFromEnv({ SHIPGATE_BUDGET_PROFILE: 'smoke' })).toBe('smoke');
    expect(() => profileFromEnv({ SHIPGATE_BUDGET_PROFILE: 'quick' })).toThrow(
      'SHIPGATE_BUDGET_PROFILE is "quick"; expected smoke, normal, stress, soak',
    );
  });
});

describe('open-loop schedules', () => {
  test('a constant rate is evenly spaced: request k at exactly k / rate', () => {
    const t = arrivalTimesUs([{ durationUs: 2e6, from: 20, to: 20 }]);
    expect(t.length).toBe(40);
    for (let k = 0; k < t.length; k++) expect(t[k]).toBeCloseTo(k * 50_000, 6);
  });

  test('a ramp spaces requests by the instantaneous rate and sends its integral', () => {
    // 0 → 100 rps over 2 s: 100 requests, the k-th at t = √(k/25) s.
    const t = arrivalTimesUs([{ durationUs: 2e6, from: 0, to: 100 }]);
    expect(t.length).toBe(100);
    expect(t[25]).toBeCloseTo(1e6, 3);
    const gaps = Array.from(t.slice(1), (v, i) => v - (t[i] as number));
    expect(gaps[10]).toBeGreaterThan(gaps[90] as number);
    // Stages chain: 10 rps for 1 s then 10 → 30 over 1 s = 10 + 20 requests.
    expect(
      arrivalTimesUs([
        { durationUs: 1e6, from: 10, to: 10 },
        { durationUs: 1e6, from: 10, to: 30 },
      ]).length,
    ).toBe(30);
  });
});
