/**
 * k6 verdicts that match k6 (issue 16 §1), on summaries in k6's handleSummary shape built here
 * from the generated script's own thresholds (no k6 binary is on this machine, and no summary
 * here claims to be a recorded k6 output):
 * - an SLO without an errorRate budget still has its request count (the always-true
 *   `http_reqs{slo}` threshold makes k6 report it), so it passes or fails instead of being
 *   inconclusive, and a crossed minRps is a violation (exit 2), not "no request completed";
 * - the always-true thresholds are never read back as budgets;
 * - VUs are sized by Little's law from the rate and the latency budget;
 * - dropped iterations get k6's advice, from the VUs k6 reached.
 */
import { describe, expect, test } from 'vitest';
import { defineSlo } from '../../plugins/budget/index.ts';
import { resolveRun } from '../../plugins/budget/profiles.ts';
import { k6Plan, k6Results, parseK6Summary } from '../../plugins/k6/index.ts';
import { vusFor } from '../../plugins/k6/script.ts';

const rate200 = { kind: 'rate', rps: 200, duration: '10s' } as const;
const p95Only = defineSlo({
  id: 'k6v-p95',
  endpoint: { method: 'GET', path: '/p95' },
  load: rate200,
  budgets: { p95: 100 },
});
const withRps = defineSlo({
  id: 'k6v-rps',
  endpoint: { method: 'GET', path: '/rps' },
  load: { kind: 'rate', rps: 200, duration: '10s' },
  budgets: { p95: 100, minRps: 190 },
});

/** A handleSummary-shaped summary for `slo`: the metrics k6 reports for the generated script's thresholds. */
function summaryFor(
  slo: typeof p95Only,
  m: { count: number; p95: number; rate: number; okRate?: number; fails?: number; dropped?: number; vusMax?: number },
) {
  const plan = k6Plan([slo], 'normal');
  const id = slo.id;
  const metrics: Record<string, unknown> = {};
  const thresholdsOf = (name: string, ok: (expr: string) => boolean) =>
    Object.fromEntries((plan.thresholds[name] ?? []).map((expr) => [expr, { ok: ok(expr) }]));
  const name = (base: string, tags = '') => `${base}{slo:${id}${tags}}`;
  metrics[name('http_req_duration')] = {
    type: 'trend',
    contains: 'time',
    values: {
      avg: m.p95 / 2,
      min: 1,
      med: m.p95 / 2,
      max: m.p95 * 2,
      'p(90)': m.p95 * 0.9,
      'p(95)': m.p95,
      'p(99)': m.p95 * 1.5,
      count: m.count,
    },
    thresholds: thresholdsOf(name('http_req_duration'), (e) => m.p95 < Number(/<(\d+)/.exec(e)?.[1])),
  };
  metrics[name('http_reqs')] = {
    type: 'counter',
    contains: 'default',
    values: { count: m.count, rate: m.rate },
    thresholds: thresholdsOf(name('http_reqs'), () => true),
  };
  const fails = m.fails ?? 0;
  metrics[name('http_req_failed')] = {
    type: 'rate',
    contains: 'default',
    values: { rate: fails / m.count, passes: fails, fails: m.count - fails },
    thresholds: thresholdsOf(name('http_req_failed'), () => true),
  };
  if (plan.thresholds[name('http_reqs', ',expected_response:true')]) {
    const okRate = m.okRate ?? m.rate;
    metrics[name('http_reqs', ',expected_response:true')] = {
      type: 'counter',
      contains: 'default',
      values: { count: m.count - fails, rate: okRate },
      thresholds: thresholdsOf(
        name('http_reqs', ',expected_response:true'),
        (e) => okRate >= Number(/>=(\d+)/.exec(e)?.[1]),
      ),
    };
  }
  metrics.dropped_iterations = {
    type: 'counter',
    contains: 'default',
    values: { count: m.dropped ?? 0, rate: 0 },
    thresholds: { 'count==0': { ok: (m.dropped ?? 0) === 0 } },
  };
  metrics.vus_max = {
    type: 'gauge',
    contains: 'default',
    values: { value: m.vusMax ?? 20, min: 20, max: m.vusMax ?? 20 },
  };
  return parseK6Summary({ root_group: {}, options: {}, state: { testRunDurationMs: 10_000 }, metrics });
}

describe('k6 verdicts', () => {
  test('the script makes k6 report every SLO’s request and error counts, with thresholds that always hold', () => {
    const plan = k6Plan([p95Only], 'normal');
    expect(plan.thresholds['http_reqs{slo:k6v-p95}']).toEqual(['count>=0']);
    expect(plan.thresholds['http_req_failed{slo:k6v-p95}']).toEqual(['rate>=0']);
    // An errorRate budget keeps its own threshold.
    const strict = defineSlo({
      id: 'k6v-err',
      endpoint: { method: 'GET', path: '/err' },
      load: rate200,
      budgets: { p95: 100, errorRate: 0.01 },
    });
    expect(k6Plan([strict], 'normal').thresholds['http_req_failed{slo:k6v-err}']).toEqual(['rate<0.01']);
  });

  test('a p95-only SLO that holds passes (not inconclusive), with its request count', () => {
    const [r] = k6Results(summaryFor(p95Only, { count: 2000, p95: 40, rate: 200 }), { slos: [p95Only] });
    expect(r?.status).toBe('passed');
    expect(r?.measurement.requests).toBe(2000);
    expect(r?.verdict.inconclusive).toEqual([]);
  });

  test('a p95 violation fails', () => {
    const [r] = k6Results(summaryFor(p95Only, { count: 2000, p95: 180, rate: 200 }), { slos: [p95Only] });
    expect(r?.status).toBe('failed');
    expect(r?.verdict.checks.find((c) => c.key === 'p95Ms')).toMatchObject({ ok: false, limit: 100 });
  });

  test('a crossed minRps fails (exit 2), it is not "no request completed"', () => {
    const [r] = k6Results(summaryFor(withRps, { count: 1500, p95: 40, rate: 150 }), { slos: [withRps] });
    expect(r?.status).toBe('failed');
    expect(r?.verdict.checks.find((c) => c.key === 'rps')).toMatchObject({ ok: false });
    expect(r?.verdict.inconclusive.join(' ')).not.toContain('no request completed');
  });

  test('without the SLO module, the always-true thresholds are not read back as budgets', () => {
    const [r] = k6Results(summaryFor(withRps, { count: 2000, p95: 40, rate: 200 }));
    expect(r?.budgets).toEqual({ p95: 100, minRps: 190 });
    expect(r?.status).toBe('passed');
  });

  test("VUs by Little's law: rate × the tail budget, doubled, so a budget that holds needs no allocation", () => {
    const plan = resolveRun(
      defineSlo({
        id: 'k6v-big',
        endpoint: { method: 'GET', path: '/big' },
        load: { kind: 'rate', rps: 1000, duration: '10s' },
        budgets: { p99: 200 },
      }),
      'normal',
    );
    // 1,000/s × 0.2 s × 2 + 2; the old rate/5 gave 200, which covers only 200 ms at the mean.
    expect(vusFor(1000, plan, undefined)).toEqual({ preAllocatedVUs: 402, maxVUs: expect.any(Number) });
    expect(vusFor(1000, plan, undefined).maxVUs).toBeGreaterThanOrEqual(402);
    // load.maxConnections caps both.
    expect(vusFor(1000, plan, 100)).toEqual({ preAllocatedVUs: 100, maxVUs: 100 });
    expect(k6Plan([p95Only], 'normal').scenarios.slo_k6v_p95).toMatchObject({ preAllocatedVUs: 42 });
  });

  test('dropped iterations: inconclusive, with k6’s advice from the VUs it reached', () => {
    const plan = k6Plan([p95Only], 'normal').scenarios.slo_k6v_p95 as unknown as { maxVUs: number };
    const [allocating] = k6Results(summaryFor(p95Only, { count: 1979, p95: 40, rate: 198, dropped: 21, vusMax: 21 }), {
      slos: [p95Only],
    });
    expect(allocating?.status).toBe('inconclusive');
    expect(allocating?.verdict.inconclusive.join(' ')).toMatch(
      /k6 dropped 21 iteration\(s\) while allocating VUs \(21 of maxVUs/,
    );
    expect(allocating?.verdict.inconclusive.join(' ')).not.toContain('raise load.maxConnections');
    const [busy] = k6Results(
      summaryFor(p95Only, { count: 1900, p95: 40, rate: 190, dropped: 100, vusMax: plan.maxVUs }),
      { slos: [p95Only] },
    );
    expect(busy?.verdict.inconclusive.join(' ')).toContain(`all ${plan.maxVUs} VUs were busy`);
  });

  /** A summary in k6 1.x's machine-readable shape (schema v1: an array of metrics, no per-threshold results). */
  const machineReadable = (p95: number, version = '1.0.0') => ({
    version,
    metadata: { generatedAt: '2026-12-07T10:00:00Z', k6Version: '1.4.0' },
    config: { execution: 'local', script: 'k6v-p95.js', duration: 10 },
    results: {
      passed: p95 < 100,
      metrics: [
        {
          name: 'http_req_duration{slo:k6v-p95}',
          type: 'trend',
          contains: 'time',
          category: 'http',
          values: { count: 2000, avg: p95 / 2, med: p95 / 2, 'p(95)': p95, 'p(99)': p95 * 1.5, min: 1, max: p95 * 2 },
        },
        {
          name: 'http_reqs{slo:k6v-p95}',
          type: 'counter',
          contains: 'default',
          category: 'http',
          values: { count: 2000, rate: 200 },
        },
        {
          name: 'http_req_failed{slo:k6v-p95}',
          type: 'rate',
          contains: 'default',
          category: 'http',
          values: { rate: 0, passes: 0, fails: 2000 },
        },
        {
          name: 'dropped_iterations',
          type: 'counter',
          contains: 'default',
          category: 'execution',
          values: { count: 0, rate: 0 },
        },
      ],
    },
  });

  test('k6 1.x machine-readable summary: budgets from the SLO module, judged on its values', () => {
    const ok = parseK6Summary(machineReadable(40));
    expect(ok).toMatchObject({ shape: 'machine-readable', testRunDurationMs: 10_000, passed: true });
    expect(k6Results(ok, { slos: [p95Only] }).map((r) => [r.status, r.measurement.requests])).toEqual([
      ['passed', 2000],
    ]);
    const slow = k6Results(parseK6Summary(machineReadable(180)), { slos: [p95Only] });
    expect(slow[0]?.status).toBe('failed');
    // Without the SLO module there are no thresholds to read the budgets back from.
    const [blind] = k6Results(parseK6Summary(machineReadable(40)));
    expect(blind?.status).toBe('inconclusive');
    expect(blind?.verdict.inconclusive.join(' ')).toContain('pass the SLO module (--slos)');
    expect(() => parseK6Summary(machineReadable(40, '2.0.0'), 'new.json')).toThrow(
      'new.json is a machine-readable summary of version "2.0.0"; shipgate reads version 1.x.',
    );
  });
});
