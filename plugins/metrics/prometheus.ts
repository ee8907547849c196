import { describeError } from '../core/errors.ts';
import { type MetricFamily, MetricsError, parsePrometheusText } from './exposition.ts';
import {
  diffSeries,
  type HistogramSnapshot,
  histogramQuantile,
  histogramSeries,
  type LabelMatch,
  quantileBucket,
} from './histogram.ts';

export { type MetricFamily, MetricsError, parsePrometheusText, parseValue, type Sample } from './exposition.ts';
export {
  diffSeries,
  type HistogramSnapshot,
  histogramQuantile,
  histogramSeries,
  type LabelMatch,
  quantileBucket,
  sumSeries,
} from './histogram.ts';

/** The server-side request histogram the example app exposes (prom-client convention). */
export const DEFAULT_HTTP_HISTOGRAM = 'http_request_duration_seconds';

/** The percentile method, stated in every result. */
export const QUANTILE_METHOD =
  'Prometheus histogram_quantile: per-series bucket deltas between two scrapes, summed by le, linear interpolation within the bucket holding the rank (error ≤ that bucket width)';

/** One scrape of a `/metrics` endpoint. */
export interface Scrape {
  url: string;
  /** When the response arrived, ms since the epoch. */
  atMs: number;
  families: Map<string, MetricFamily>;
}

/** Fetches and parses `url` (text exposition format). Default timeout 5000 ms. */
export async function scrapeMetrics(url: string, options: { timeoutMs?: number } = {}): Promise<Scrape> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let text: string;
  try {
    const res = await fetch(url, {
      headers: { accept: 'text/plain;version=0.0.4' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
    if (!res.ok) {
      throw new MetricsError(
        'SHIPGATE_METRICS_SCRAPE',
        `Scraping metrics at ${url} answered ${res.status}: ${text.slice(0, 200)}`,
        {
          hint: 'Point the metrics URL at the app’s Prometheus endpoint (e.g. http://127.0.0.1:3000/metrics).',
        },
      );
    }
  } catch (err) {
    if (err instanceof MetricsError) throw err;
    throw new MetricsError('SHIPGATE_METRICS_SCRAPE', `Scraping metrics at ${url} failed: ${describeError(err)}.`, {
      cause: err,
      hint: `Is the app running, and does it serve /metrics within ${timeoutMs} ms?`,
    });
  }
  return { url, atMs: Date.now(), families: parsePrometheusText(text) };
}

/** Server-side latency over a window, from a histogram: milliseconds, unrounded. */
export interface ServerLatency {
  metric: string;
  /** The label match, printable. */
  match: Record<string, string>;
  /** Requests observed in the window. */
  n: number;
  windowMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Bounds of the bucket holding p95: the true p95 lies within. */
  p95BucketMs: [number, number];
  /** The window's cumulative buckets, upper bound in ms (`Infinity` last). */
  buckets: { leMs: number; count: number }[];
  series: number;
  method: string;
}

function unitToMs(metric: string, unitMs: number | undefined): number {
  if (unitMs !== undefined) return unitMs;
  if (metric.endsWith('_seconds')) return 1_000;
  if (metric.endsWith('_milliseconds') || metric.endsWith('_ms')) return 1;
  if (metric.endsWith('_microseconds') || metric.endsWith('_us')) return 0.001;
  throw new MetricsError('SHIPGATE_METRICS_UNIT', `Cannot tell the unit of "${metric}" from its name.`, {
    hint: 'Pass unitMs (milliseconds per unit of the histogram), e.g. 1000 for seconds.',
  });
}

/** Options of {@link serverLatency}. */
export interface ServerLatencyOptions {
  /** Histogram name. Default `http_request_duration_seconds`. */
  metric?: string;
  /** Which series: e.g. `{ route: '/api/tickets/:id', method: 'GET', status: /2../ }`. Default: all. */
  match?: LabelMatch;
  /** Milliseconds per histogram unit. Default: from the name suffix (`_seconds` → 1000). */
  unitMs?: number;
}

/**
 * The server-side latency distribution of the requests observed between two scrapes of the same
 * app: bucket deltas per series (a restart in between is detected and refused), added up over
 * the matching series, and percentiles by Prometheus' linear interpolation within buckets.
 */
export function serverLatency(before: Scrape, after: Scrape, options: ServerLatencyOptions = {}): ServerLatency {
  const metric = options.metric ?? DEFAULT_HTTP_HISTOGRAM;
  const match = options.match ?? {};
  const toMs = unitToMs(metric, options.unitMs);
  const h: HistogramSnapshot = diffSeries(
    histogramSeries(before.families, metric, match, `the scrape of ${before.url}`),
    histogramSeries(after.families, metric, match, `the scrape of ${after.url}`),
    metric,
  );
  const n = h.buckets.at(-1)?.count ?? 0;
  const q = (p: number) => histogramQuantile(h, p) * toMs;
  const [lo, hi] = quantileBucket(h, 0.95);
  return {
    metric,
    match: Object.fromEntries(
      Object.entries(match).map(([k, v]) => [k, typeof v === 'function' ? '(predicate)' : String(v)]),
    ),
    n,
    windowMs: after.atMs - before.atMs,
    meanMs: n === 0 ? Number.NaN : (h.sum / n) * toMs,
    p50Ms: q(0.5),
    p90Ms: q(0.9),
    p95Ms: q(0.95),
    p99Ms: q(0.99),
    p95BucketMs: [lo * toMs, hi * toMs],
    buckets: h.buckets.map((b) => ({ leMs: b.le * toMs, count: b.count })),
    series: h.series,
    method: QUANTILE_METHOD,
  };
}

/** A measurement window opened by {@link serverWindow}. */
export interface ServerWindow {
  readonly before: Scrape;
  /** Scrapes again; the result gives the latency of any route(s) observed in between. */
  end(): Promise<{ after: Scrape; latency(options?: ServerLatencyOptions): ServerLatency }>;
}

/**
 * Opens a window on an app's server-side histogram: scrape now, run the load, then `end()` and
 * ask for `latency({ match: { route, method } })`. Lets a budget report server time next to the
 * client-measured time (the difference is network, queueing and the client itself).
 */
export async function serverWindow(metricsUrl: string, options: { timeoutMs?: number } = {}): Promise<ServerWindow> {
  const before = await scrapeMetrics(metricsUrl, options);
  return {
    before,
    async end() {
      const after = await scrapeMetrics(metricsUrl, options);
      return { after, latency: (o?: ServerLatencyOptions) => serverLatency(before, after, o) };
    },
  };
}

/** Client time next to server time for each percentile; `outsideServerMs` = client − server (network, queueing, client). */
export function splitClientServer(
  client: { p50Ms: number; p95Ms: number; p99Ms: number },
  server: Pick<ServerLatency, 'p50Ms' | 'p95Ms' | 'p99Ms'>,
): Record<'p50' | 'p95' | 'p99', { clientMs: number; serverMs: number; outsideServerMs: number }> {
  const one = (c: number, s: number) => ({ clientMs: c, serverMs: s, outsideServerMs: c - s });
  return {
    p50: one(client.p50Ms, server.p50Ms),
    p95: one(client.p95Ms, server.p95Ms),
    p99: one(client.p99Ms, server.p99Ms),
  };
}
