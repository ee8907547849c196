import { describe, expect, test } from 'vitest';
import { defineSlo, measureSlo } from '../../plugins/budget/index.ts';
import { stallEventLoop, startServer } from './servers.ts';

/**
 * The load generator against real HTTP servers: what it sends, when, and what it records.
 * Every test checks both the verdict-relevant numbers and the evidence the server saw.
 */

const quiet = { baselineDir: false as const, log: () => {} };

describe('open loop: constant arrival rate', () => {
  test('requests arrive evenly spaced, not bunched at the start of each second', async () => {
    await using srv = await startServer();
    const slo = defineSlo({
      id: 'even',
      endpoint: { method: 'GET', path: '/even' },
      load: { kind: 'rate', rps: 50, duration: '2s' },
      budgets: { p50: 1000 },
      warmup: 0,
    });
    const result = await measureSlo(srv.url, slo, quiet);
    expect(result.measurement.requests).toBe(100);
    expect(srv.arrivals).toHaveLength(100);
    const at = srv.arrivals.map((a) => a.atMs);
    const gaps = at
      .slice(1)
      .map((t, i) => t - (at[i] as number))
      .sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)] as number;
    // 50/s is one request every 20 ms.
    expect(median).toBeGreaterThan(12);
    expect(median).toBeLessThan(28);
    // autocannon's rate mode sends a second's quota (50) at once. Evenly spaced, a 100 ms
    // window holds 5; allow for a loaded machine delaying the generator's timers.
    let busiest = 0;
    for (const t0 of at) busiest = Math.max(busiest, at.filter((t) => t >= t0 && t < t0 + 100).length);
    expect(busiest).toBeLessThanOrEqual(25);
    expect(result.measurement.generator.engine).toBe('open');
    expect(result.measurement.generator.achievedRps).toBeGreaterThan(47.5);
  });

  test('split over two generator threads: every arrival once, each at its own instant on one clock', async () => {
    await using srv = await startServer();
    const slo = defineSlo({
      id: 'even-threads',
      endpoint: { method: 'GET', path: '/even' },
      load: { kind: 'rate', rps: 100, duration: '1s' },
      budgets: { p50: 1000 },
      warmup: 0,
    });
    const result = await measureSlo(srv.url, slo, { ...quiet, threads: 2, keepRecords: true });
    const run = result.records?.head[0];
    expect(run?.stats.threads).toBe(2);
    expect(run?.stats.planned).toBe(100);
    expect(result.measurement.requests).toBe(100);
    expect(srv.arrivals).toHaveLength(100);
    const r = run?.record;
    const seqs = Array.from(r?.seq ?? []).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // Request k is scheduled (k − 1) × 10 ms after time zero, whichever thread sent it; the
    // threads share one time zero (a thread that gets the job late sends late, recorded as lag).
    let worstUs = 0;
    for (let i = 0; i < (r?.n ?? 0); i++) {
      const expected = ((r?.seq[i] as number) - 1) * 10_000;
      worstUs = Math.max(worstUs, Math.abs((r?.scheduledUs[i] as number) - expected));
    }
    expect(worstUs).toBeLessThan(5_000);
  });

  test('latency counts from the scheduled send time, so a stalled server cannot hide (coordinated omission)', async () => {
    // The server shares this thread; the generator runs in a worker, so it keeps sending
    // through the stall while this event loop is blocked for 400 ms, from request 80 on.
    await using srv = await startServer({ onArrival: (n) => n === 80 && stallEventLoop(400) });
    const slo = defineSlo({
      id: 'stall',
      endpoint: { method: 'GET', path: '/stall' },
      load: { kind: 'rate', rps: 100, duration: '2.2s' },
      budgets: { p95: 100 },
      warmup: 0,
    });
    const result = await measureSlo(srv.url, slo, quiet);
    const m = result.measurement;
    expect(m.n).toBe(220);
    // ~40 requests were due during the stall and waited up to 400 ms each.
    expect(m.latency.maxUs / 1000).toBeGreaterThan(300);
    expect(m.latency.p95Us / 1000).toBeGreaterThan(150);
    // Failed, or inconclusive when a loaded machine also delayed the generator: never a pass.
    expect(result.status).not.toBe('passed');
    expect(result.verdict.checks[0]).toMatchObject({ key: 'p95Ms', ok: false, limit: 100 });
    // The evidence points at the stall: it began when request 80 (scheduled at 790 ms)
    // arrived, so that request waited longest.
    const slowest = m.slowest[0];
    expect(slowest?.atMs).toBeGreaterThan(690);
    expect(slowest?.atMs).toBeLessThan(900);
    expect(slowest?.latencyMs).toBeGreaterThan(300);
  });

  test('records microseconds, the server-side time and trace ids the server saw', async () => {
    await using srv = await startServer({ delayMs: 3, serverTimingMs: 3.25 });
    const slo = defineSlo({
      id: 'precise',
      endpoint: { method: 'GET', path: '/precise' },
      load: { kind: 'rate', rps: 100, duration: '0.5s' },
      budgets: { p50: 1000 },
      warmup: 0,
    });
    const result = await measureSlo(srv.url, slo, quiet);
    const m = result.measurement;
    const seen = new Set(srv.arrivals.map((a) => a.traceId));
    expect(seen.size).toBe(50);
    expect(m.slowest).toHaveLength(5);
    for (const s of m.slowest) {
      expect(seen.has(s.traceId)).toBe(true);
      expect(s.serverMs).toBe(3.25);
      expect(s.latencyMs).toBeGreaterThanOrEqual(3);
    }
    // Not whole milliseconds: the percentiles come from unrounded µs.
    expect(Number.isInteger(m.latency.p50Us / 1000)).toBe(false);
    expect(m.server?.p50Us).toBe(3250);
  });
});

describe('closed loops', () => {
  test('a burst keeps exactly N requests in flight and records each one', async () => {
    await using srv = await startServer({ delayMs: 20 });
    const slo = defineSlo({
      id: 'burst',
      endpoint: { method: 'POST', path: '/burst', body: { hello: 'world' } },
      load: { kind: 'burst', vus: 5, duration: '1s' },
      budgets: { p50: 1000 },
      warmup: 0,
    });
    const result = await measureSlo(srv.url, slo, quiet);
    const m = result.measurement;
    expect(m.generator.engine).toBe('burst');
    expect(srv.maxInFlight()).toBe(5);
    // 5 users × ~1 s / ~20 ms each; every request the server saw is in the record.
    expect(m.requests).toBe(srv.arrivals.length);
    expect(m.requests).toBeGreaterThan(100);
    expect(m.errors).toBe(0);
    expect(m.latency.p50Us / 1000).toBeGreaterThanOrEqual(20);
    const traces = srv.arrivals.map((a) => a.traceId);
    expect(new Set(traces).size).toBe(traces.length);
  });

  test('split over two generator threads: still exactly N in flight, one record, every trace id once', async () => {
    await using srv = await startServer({ delayMs: 10 });
    const slo = defineSlo({
      id: 'burst-threads',
      endpoint: { method: 'GET', path: '/t' },
      load: { kind: 'burst', vus: 5, duration: '800ms' },
      budgets: { p50: 1000 },
      warmup: 0,
    });
    const result = await measureSlo(srv.url, slo, { ...quiet, threads: 2, keepRecords: true });
    const run = result.records?.head[0];
    expect(run?.stats.threads).toBe(2);
    expect(srv.maxInFlight()).toBe(5);
    expect(result.measurement.requests).toBe(srv.arrivals.length);
    expect(result.measurement.errors).toBe(0);
    const seqs = Array.from(run?.record.seq ?? []);
    expect(new Set(seqs).size).toBe(seqs.length);
    // Both threads' sequence numbers: odd and even.
    expect(seqs.some((s) => s % 2 === 0) && seqs.some((s) => s % 2 === 1)).toBe(true);
    const traces = srv.arrivals.map((a) => a.traceId);
    expect(new Set(traces).size).toBe(traces.length);
  });

  test('ramping VUs follow the stages: up to the peak, then down to zero', async () => {
    await using srv = await startServer({ delayMs: 25 });
    const slo = defineSlo({
      id: 'ramp',
      endpoint: { method: 'GET', path: '/ramp' },
      load: {
        kind: 'stages',
        unit: 'vus',
        start: 1,
        stages: [
          { duration: '0.8s', target: 6 },
          { duration: '0.6s', target: 0 },
        ],
      },
      budgets: { p50: 1000 },
      warmup: 0,
    });
    const result = await measureSlo(srv.url, slo, quiet);
    expect(result.measurement.generator.engine).toBe('vus');
    expect(srv.maxInFlight()).toBeGreaterThanOrEqual(5);
    expect(srv.maxInFlight()).toBeLessThanOrEqual(6);
    // More requests while at the peak than at the start and the end.
    const t0 = srv.arrivals[0]?.atMs ?? 0;
    const inWindow = (a: number, b: number) => srv.arrivals.filter((x) => x.atMs - t0 >= a && x.atMs - t0 < b).length;
    expect(inWindow(600, 900)).toBeGreaterThan(inWindow(0, 300));
    expect(inWindow(600, 900)).toBeGreaterThan(inWindow(1200, 1500));
    expect(result.measurement.requests).toBe(srv.arrivals.length);
  });
});
