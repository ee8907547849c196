import { describe, expect, test } from 'vitest';
import { auditRun, matchTop, notesRead, notesWrite, outreachStart, seedSlos } from '../../perf/seeds.slo.ts';
import { resolveRun } from '../../plugins/budget/index.ts';
import { k6Plan } from '../../plugins/k6/index.ts';

/** The seeds' SLOs are expressible with defineSlo and turn into the k6 the seeds describe. */
describe("the seeds' SLOs, as code", () => {
  const plan = k6Plan(seedSlos, 'normal');

  test('p95 < 800 ms at a constant 20 requests/s', () => {
    expect(matchTop.load).toEqual({ kind: 'rate', rps: 20, durationMs: 60_000, maxConnections: undefined });
    expect(plan.scenarios.slo_seed_match_top).toMatchObject({
      executor: 'constant-arrival-rate',
      rate: 20,
      timeUnit: '1s',
      duration: '60s',
    });
    expect(plan.thresholds['http_req_duration{slo:seed-match-top}']).toEqual(['p(95)<800']);
  });

  test('p95 < 1.5 s with a 10-user burst', () => {
    expect(outreachStart.budgets.p95).toBe(1500);
    expect(plan.scenarios.slo_seed_outreach_start).toMatchObject({ executor: 'constant-vus', vus: 10 });
    expect(plan.thresholds['http_req_duration{slo:seed-outreach-start}']).toEqual(['p(95)<1500']);
  });

  test('p95 < 5 s on a 5 → 20 → 0 user spike', () => {
    expect(plan.scenarios.slo_seed_audit_run).toMatchObject({
      executor: 'ramping-vus',
      startVUs: 5,
      stages: [
        { duration: '30s', target: 20 },
        { duration: '30s', target: 20 },
        { duration: '30s', target: 0 },
      ],
    });
    expect(auditRun.budgets.p95).toBe(5000);
    expect(plan.thresholds['http_req_duration{slo:seed-audit-run}']).toEqual(['p(95)<5000']);
  });

  test('reads p95 < 200 ms, writes p95 < 500 ms, error rate < 0.1 % (the seeds’ rate<0.001)', () => {
    expect(plan.thresholds['http_req_duration{slo:seed-notes-read}']).toEqual(['p(95)<200']);
    expect(plan.thresholds['http_req_duration{slo:seed-notes-write}']).toEqual(['p(95)<500']);
    for (const slo of seedSlos) expect(plan.thresholds[`http_req_failed{slo:${slo.id}}`]).toEqual(['rate<0.001']);
    expect(plan.thresholds.dropped_iterations).toEqual(['count==0']);
  });

  test('the seeds’ named profiles scale the same SLO: smoke 1 VU × 30 s, normal 10 × 5 min, stress 50 × 2 min', () => {
    expect(resolveRun(notesRead, 'smoke').load).toEqual({ kind: 'burst', vus: 1, durationMs: 30_000 });
    expect(resolveRun(notesRead, 'normal').load).toEqual({ kind: 'burst', vus: 10, durationMs: 300_000 });
    expect(resolveRun(notesWrite, 'stress').load).toEqual({ kind: 'burst', vus: 50, durationMs: 120_000 });
    expect(k6Plan([notesWrite], 'stress').scenarios.slo_seed_notes_write).toMatchObject({
      executor: 'constant-vus',
      vus: 50,
      duration: '120s',
    });
  });
});
