import { describeError } from '../core/errors.ts';
import { type ServerLatency, serverWindow } from '../metrics/prometheus.ts';
import type { ShipgateRecord } from '../report/model.ts';
import type { Slo } from './slo.ts';

/**
 * Server-side latency from the app's own Prometheus histogram (`/metrics`), scraped before and
 * after a budget run, so the report shows the server's view next to the client's. The route is
 * the SLO path without its query string, which is what the example app labels requests with;
 * the histogram's percentiles are interpolated within buckets, so each is as exact as its bucket.
 */
export function routeOf(slo: Slo): string {
  return slo.endpoint.path.split('?')[0] ?? slo.endpoint.path;
}

/** Runs `fn` between two scrapes of `metricsUrl`; a failed scrape is reported, never fatal. */
export async function withServerHistogram<T>(
  metricsUrl: string,
  slo: Slo,
  fn: () => Promise<T>,
): Promise<{ value: T; server: ServerLatency | { error: string } }> {
  let window: Awaited<ReturnType<typeof serverWindow>> | undefined;
  let scrapeError: string | undefined;
  try {
    window = await serverWindow(metricsUrl);
  } catch (err) {
    scrapeError = describeError(err);
  }
  const value = await fn();
  if (!window) return { value, server: { error: `scraping ${metricsUrl} failed: ${scrapeError}` } };
  try {
    const end = await window.end();
    return { value, server: end.latency({ match: { method: slo.endpoint.method, route: routeOf(slo) } }) };
  } catch (err) {
    return { value, server: { error: `scraping ${metricsUrl} failed: ${describeError(err)}` } };
  }
}

/** Adds the histogram's view to a budget record: `histServerP50Ms`… and `evidence.serverHistogram`. */
export function addServerHistogram(record: ShipgateRecord, server: ServerLatency | { error: string }): ShipgateRecord {
  if ('error' in server) {
    return { ...record, evidence: { ...record.evidence, serverHistogram: { error: server.error } } };
  }
  return {
    ...record,
    metrics: {
      ...record.metrics,
      histServerP50Ms: server.p50Ms,
      histServerP95Ms: server.p95Ms,
      histServerP99Ms: server.p99Ms,
      histServerN: server.n,
    },
    evidence: {
      ...record.evidence,
      serverHistogram: {
        metric: server.metric,
        match: server.match,
        n: server.n,
        p95BucketMs: server.p95BucketMs,
        method: 'Prometheus histogram_quantile: bucket deltas between two scrapes, linear within a bucket',
      },
    },
  };
}
