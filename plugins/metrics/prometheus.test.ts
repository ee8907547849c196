import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, onTestFinished, test } from 'vitest';
import { freePort } from '../core/net.ts';
import { percentile } from '../core/stats.ts';
import {
  type HistogramSnapshot,
  histogramQuantile,
  MetricsError,
  parsePrometheusText,
  type Scrape,
  scrapeMetrics,
  serverLatency,
  serverWindow,
  splitClientServer,
} from './prometheus.ts';

/** A deterministic PRNG (mulberry32), so the distributions below are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const scrapeOf = (text: string, atMs = Date.now()): Scrape => ({
  url: 'test',
  atMs,
  families: parsePrometheusText(text),
});

function thrown(fn: () => unknown): MetricsError {
  try {
    fn();
  } catch (err) {
    return err as MetricsError;
  }
  throw new Error('expected a MetricsError');
}

describe('parsePrometheusText', () => {
  test("reads prom-client's own output, escaped label values included", async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 'req_seconds',
      help: 'Request time\nin seconds, with a \\ backslash',
      labelNames: ['route', 'status'],
      buckets: [0.1, 0.5],
      registers: [registry],
    });
    const tricky = 'a "quoted" \\ back\nslash';
    h.observe({ route: tricky, status: '200' }, 0.05);
    h.observe({ route: tricky, status: '200' }, 0.3);
    h.observe({ route: '/x', status: '500' }, 2);
    new Counter({ name: 'hits_total', help: 'Hits', registers: [registry] }).inc(3);
    new Gauge({ name: 'temp', help: 'T', labelNames: ['room'], registers: [registry] }).set({ room: 'b' }, -1.5);

    const families = parsePrometheusText(await registry.metrics());
    const req = families.get('req_seconds');
    expect(req?.type).toBe('histogram');
    expect(req?.help).toBe('Request time\nin seconds, with a \\ backslash');
    expect(req?.samples.filter((s) => s.name === 'req_seconds_bucket' && s.labels.route === tricky)).toEqual([
      { name: 'req_seconds_bucket', labels: { le: '0.1', route: tricky, status: '200' }, value: 1 },
      { name: 'req_seconds_bucket', labels: { le: '0.5', route: tricky, status: '200' }, value: 2 },
      { name: 'req_seconds_bucket', labels: { le: '+Inf', route: tricky, status: '200' }, value: 2 },
    ]);
    expect(req?.samples.find((s) => s.name === 'req_seconds_sum' && s.labels.route === '/x')?.value).toBe(2);
    expect(families.get('hits_total')).toMatchObject({ type: 'counter', samples: [{ value: 3 }] });
    expect(families.get('temp')).toMatchObject({ type: 'gauge', samples: [{ labels: { room: 'b' }, value: -1.5 }] });
  });

  test('special values, timestamps, untyped samples, comments, CRLF and loose whitespace', () => {
    const text = [
      '# a free comment',
      '# TYPE odd gauge',
      'odd{a="1",} +Inf 1700000000000',
      'odd{a="2"} -Inf',
      'odd{a="3"}\tNaN',
      '  odd { a = "4" }   1.5e3  ',
      'plain 42\r',
      '',
    ].join('\n');
    const f = parsePrometheusText(text);
    const odd = f.get('odd')?.samples ?? [];
    expect(odd.map((s) => s.value)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1500]);
    expect(odd[0]?.timestampMs).toBe(1_700_000_000_000);
    expect(f.get('plain')).toEqual({
      name: 'plain',
      type: 'untyped',
      help: '',
      samples: [{ name: 'plain', labels: {}, value: 42 }],
    });
  });

  test('malformed input names the line and what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['ok 1\nbroken', /line 2: expected "value \[timestamp\]" after the metric in "broken"/],
      ['m{a="x\\q"} 1', /line 1: invalid escape "\\q" in label "a"/],
      ['m{a="x} 1', /unterminated value of label "a"/],
      ['m{a=x} 1', /expected a quoted value for label "a"/],
      ['m{a="1",a="2"} 1', /duplicate label "a"/],
      ['m one', /invalid value "one"/],
      ['m 1 2.5', /invalid timestamp "2.5"/],
      ['# TYPE m sparkline', /unknown metric type "sparkline"/],
      ['m 1\n# TYPE m counter', /line 2: # TYPE for "m" after its samples/],
      ['9m 1', /line 1: expected a metric name/],
    ];
    for (const [text, re] of cases) {
      const err = thrown(() => parsePrometheusText(text));
      expect(err, text).toBeInstanceOf(MetricsError);
      expect(err.code).toBe('SHIPGATE_METRICS_PARSE');
      expect(err.message).toMatch(re);
    }
  });
});

describe('histogram quantiles (PromQL histogram_quantile semantics)', () => {
  const h = (pairs: [number, number][]): HistogramSnapshot => ({
    buckets: pairs.map(([le, count]) => ({ le, count })),
    count: pairs.at(-1)?.[1] ?? 0,
    sum: 0,
    series: 1,
  });
  const inf = Number.POSITIVE_INFINITY;

  test('interpolates linearly inside the bucket that holds the rank', () => {
    const x = h([
      [0.1, 10],
      [0.2, 20],
      [0.5, 30],
      [inf, 30],
    ]);
    expect(histogramQuantile(x, 0.5)).toBeCloseTo(0.15, 12); // rank 15: halfway through (0.1, 0.2]
    expect(histogramQuantile(x, 0.25)).toBeCloseTo(0.075, 12); // first bucket starts at 0
    expect(histogramQuantile(x, 1)).toBeCloseTo(0.5, 12);
    expect(histogramQuantile(x, 0)).toBe(0);
  });

  test('a rank in the +Inf bucket returns the highest finite bound; empty is NaN; bad q throws', () => {
    expect(
      histogramQuantile(
        h([
          [1, 5],
          [2, 8],
          [inf, 10],
        ]),
        0.95,
      ),
    ).toBe(2);
    expect(
      histogramQuantile(
        h([
          [1, 0],
          [inf, 0],
        ]),
        0.5,
      ),
    ).toBeNaN();
    expect(thrown(() => histogramQuantile(h([[inf, 1]]), 1.5)).message).toBe('Quantile 1.5 is outside 0..1.');
  });
});

describe('server latency from two scrapes', () => {
  async function appLike() {
    const registry = new Registry();
    const h = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'x',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1],
      registers: [registry],
    });
    return { registry, h, scrape: async () => scrapeOf(await registry.metrics()) };
  }

  test('p95 of the window only, within the bucket that holds the exact p95', async () => {
    const { h, scrape } = await appLike();
    const random = rng(7);
    // Before the window: slow traffic that must not count.
    for (let i = 0; i < 300; i++) h.observe({ method: 'GET', route: '/api/tickets', status: '200' }, 0.8);
    const before = await scrape();
    const window: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      // Log-normal-ish around 40 ms, in seconds.
      const v = Math.exp(
        Math.log(0.04) + 0.5 * Math.sqrt(-2 * Math.log(random() || 1e-9)) * Math.cos(2 * Math.PI * random()),
      );
      window.push(v);
      h.observe({ method: 'GET', route: '/api/tickets', status: '200' }, v);
    }
    // Other routes and methods in the same window are filtered out.
    for (let i = 0; i < 500; i++) h.observe({ method: 'POST', route: '/api/tickets', status: '201' }, 0.9);
    const after = await scrape();

    const s = serverLatency(before, after, { match: { route: '/api/tickets', method: 'GET' } });
    const exactP95Ms =
      percentile(
        [...window].sort((a, b) => a - b),
        95,
      ) * 1000;
    expect(s.n).toBe(2_000);
    expect(s.p95BucketMs[0]).toBeLessThanOrEqual(exactP95Ms);
    expect(s.p95BucketMs[1]).toBeGreaterThanOrEqual(exactP95Ms);
    expect(s.p95Ms).toBeGreaterThanOrEqual(s.p95BucketMs[0]);
    expect(s.p95Ms).toBeLessThanOrEqual(s.p95BucketMs[1]);
    expect(Math.abs(s.p95Ms - exactP95Ms)).toBeLessThanOrEqual(s.p95BucketMs[1] - s.p95BucketMs[0]);
    expect(s.meanMs).toBeCloseTo((window.reduce((a, b) => a + b, 0) / window.length) * 1000, 6);
    expect(s.p50Ms).toBeLessThan(s.p95Ms);
    expect(s.p95Ms).toBeLessThanOrEqual(s.p99Ms);
    expect(s.match).toEqual({ route: '/api/tickets', method: 'GET' });
    expect(s.method).toMatch(/histogram_quantile/);
    expect(s.buckets.at(-1)).toEqual({ leMs: Number.POSITIVE_INFINITY, count: 2_000 });
  });

  test('adds up matching series (statuses by RegExp); new series count from zero', async () => {
    const { h, scrape } = await appLike();
    h.observe({ method: 'GET', route: '/r', status: '200' }, 0.004);
    const before = await scrape();
    h.observe({ method: 'GET', route: '/r', status: '200' }, 0.004);
    h.observe({ method: 'GET', route: '/r', status: '404' }, 0.004); // new series inside the window
    h.observe({ method: 'GET', route: '/r', status: '503' }, 0.9);
    const after = await scrape();
    expect(serverLatency(before, after, { match: { route: '/r', status: /[24]\d\d/ } })).toMatchObject({
      n: 2,
      series: 2,
    });
    expect(serverLatency(before, after, { match: { route: '/r' } }).n).toBe(3);
  });

  test('a restart between the scrapes (counters went down) is refused, not measured', async () => {
    const first = await appLike();
    for (let i = 0; i < 5; i++) first.h.observe({ method: 'GET', route: '/r', status: '200' }, 0.01);
    const before = await first.scrape();
    const restarted = await appLike();
    restarted.h.observe({ method: 'GET', route: '/r', status: '200' }, 0.01);
    expect(thrown(() => serverLatency(before, scrapeOf(''))).code).toBe('SHIPGATE_METRICS_MISSING');
    const afterRestart = await restarted.scrape();
    const reset = thrown(() => serverLatency(before, afterRestart));
    expect(reset.code).toBe('SHIPGATE_METRICS_RESET');
    expect(reset.message).toMatch(/went down between the scrapes \(count 5 → 1\): the app restarted/);
  });

  test('a missing or non-histogram metric, or an unknown unit, says so', async () => {
    const { scrape } = await appLike();
    const s = await scrape();
    expect(thrown(() => serverLatency(s, s, { metric: 'nope_seconds' })).message).toBe(
      'No histogram "nope_seconds" in the scrape of test (histograms there: http_request_duration_seconds). Expose it with prom-client (see docs/chaos-and-metrics.md) or pass the right metric name.',
    );
    const counter = scrapeOf('# TYPE c_seconds counter\nc_seconds 1');
    expect(thrown(() => serverLatency(counter, counter, { metric: 'c_seconds' })).message).toMatch(
      /is a counter, not a histogram/,
    );
    expect(thrown(() => serverLatency(s, s, { metric: 'weird' })).message).toMatch(/Cannot tell the unit of "weird"/);
  });

  test('serverWindow scrapes a real endpoint; client and server time side by side', async () => {
    const { registry, h } = await appLike();
    const server = createServer(async (_req, res) => {
      res.setHeader('content-type', registry.contentType);
      res.end(await registry.metrics());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;

    const win = await serverWindow(url);
    for (let i = 0; i < 100; i++) h.observe({ method: 'GET', route: '/r', status: '200' }, 0.012);
    const { latency } = await win.end();
    const s = latency({ match: { route: '/r' } });
    expect(s.n).toBe(100);
    expect(s.p95Ms).toBeGreaterThan(10);
    expect(s.p95Ms).toBeLessThanOrEqual(20);
    const split = splitClientServer({ p50Ms: 30, p95Ms: 40, p99Ms: 50 }, s);
    expect(split.p95.outsideServerMs).toBeCloseTo(40 - s.p95Ms, 9);

    const closed = await freePort();
    await expect(scrapeMetrics(`http://127.0.0.1:${closed}/metrics`, { timeoutMs: 1_000 })).rejects.toThrow(
      `Scraping metrics at http://127.0.0.1:${closed}/metrics failed: fetch failed: connect ECONNREFUSED 127.0.0.1:${closed}.`,
    );
  });
});
