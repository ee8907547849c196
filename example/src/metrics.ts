import type { Request, RequestHandler, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Route label of requests no route matched (404s, body parse errors): raw paths would explode cardinality. */
export const UNMATCHED_ROUTE = '(unmatched)';
/** Route label of a response replayed from an Idempotency-Key (answered before routing, and far cheaper). */
export const REPLAY_ROUTE = '(idempotent replay)';
/** Path of the Prometheus endpoint; its own scrapes are not observed. */
export const METRICS_PATH = '/metrics';

// Seconds. Fine steps up to 1 s, where SLOs live (p95 ≤ 350 ms …): percentiles are interpolated
// within a bucket, so bucket width bounds their error.
const HTTP_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1,
  1.5, 2, 3, 5, 10,
];
const DB_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The example app's Prometheus metrics, in a registry of its own (several apps in one process don't collide). */
export interface AppMetrics {
  registry: Registry;
  /** `http_request_duration_seconds{method,route,status}`: request start to the last byte handed to the OS. */
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** `db_query_duration_seconds{model,operation,outcome}`: one Prisma operation attempt (pool wait included). */
  dbDuration: Histogram<'model' | 'operation' | 'outcome'>;
  /** `upstream_request_duration_seconds{outcome}`: one attempt at the notification provider. */
  upstreamDuration: Histogram<'outcome'>;
  /** `dependency_retries_total{dependency,reason}`. */
  retries: Counter<'dependency' | 'reason'>;
  /** `circuit_breaker_open{dependency}`: 1 while failing fast. */
  breakerOpen: Gauge<'dependency'>;
  /** Times every request; register before the routes. */
  middleware: RequestHandler;
  /** `GET /metrics` in the text exposition format. */
  handler: RequestHandler;
}

function routeOf(req: Request, res: Response): string {
  if (typeof res.locals.metricsRoute === 'string') return res.locals.metricsRoute;
  const route = (req as { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? `${req.baseUrl}${route.path}` : UNMATCHED_ROUTE;
}

/** Creates the metrics; `processMetrics` adds prom-client's default process metrics (env `METRICS_PROCESS=1`). */
export function createMetrics(options: { processMetrics?: boolean } = {}): AppMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? process.env.METRICS_PROCESS === '1') collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration from arrival to the last byte sent, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const dbDuration = new Histogram({
    name: 'db_query_duration_seconds',
    help: 'Duration of one Prisma operation attempt (pool wait included), by model, operation and outcome.',
    labelNames: ['model', 'operation', 'outcome'] as const,
    buckets: DB_BUCKETS,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'upstream_request_duration_seconds',
    help: 'Duration of one attempt at the notification provider, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'dependency_retries_total',
    help: 'Retries of calls to a dependency, by dependency and reason.',
    labelNames: ['dependency', 'reason'] as const,
    registers: [registry],
  });
  const breakerOpen = new Gauge({
    name: 'circuit_breaker_open',
    help: '1 while the circuit breaker of a dependency is open (calls fail fast).',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    if (req.path === METRICS_PATH) {
      next();
      return;
    }
    const end = httpDuration.startTimer();
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      // 499 (nginx's "client closed request"): the client left before the response was complete.
      const status = aborted ? '499' : String(res.statusCode);
      end({ method: req.method, route: routeOf(req, res), status });
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));
    next();
  };

  const handler: RequestHandler = async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(body);
    } catch (err) {
      next(err);
    }
  };

  return { registry, httpDuration, dbDuration, upstreamDuration, retries, breakerOpen, middleware, handler };
}
