import type { ErrorRequestHandler, Express, RequestHandler, Router } from 'express';
import { classifyDbError, withDbResilience } from './db-resilience.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { createIdempotency, transactional } from './idempotency.ts';
import { type AppMetrics, createMetrics, METRICS_PATH } from './metrics.ts';
import { CircuitBreaker, envNumber, UnavailableError } from './resilience.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { type Log, stdoutLog } from './trace.ts';
import { createNotifier, type Notifier } from './upstream.ts';

/**
 * How the app treats its dependencies. Every field has an env fallback, then a default:
 * see the table in example/README.md (`DB_*`, `UPSTREAM_*`, `IDEMPOTENCY_TIMEOUT_MS`).
 */
export interface ResilienceOptions {
  db?: {
    /** Per Prisma operation. Env `DB_QUERY_TIMEOUT_MS`, default 5000. */
    timeoutMs?: number;
    /** Tries per operation, the first included. Env `DB_RETRY_ATTEMPTS`, default 3. */
    attempts?: number;
    /** First backoff step. Env `DB_RETRY_BASE_MS`, default 50. */
    baseDelayMs?: number;
    /** Backoff cap. Default 1000. */
    maxDelayMs?: number;
    /** Consecutive failed operations that open the circuit. Env `DB_BREAKER_THRESHOLD`, default 5. */
    breakerThreshold?: number;
    /** Fail-fast period. Env `DB_BREAKER_COOLDOWN_MS`, default 2000. */
    breakerCooldownMs?: number;
  };
  upstream?: {
    /** Per attempt. Env `UPSTREAM_TIMEOUT_MS`, default 2000. */
    timeoutMs?: number;
    /** Env `UPSTREAM_RETRY_ATTEMPTS`, default 4. */
    attempts?: number;
    /** Env `UPSTREAM_RETRY_BASE_MS`, default 100. */
    baseDelayMs?: number;
    /** Default 2000. */
    maxDelayMs?: number;
    /** Longest `Retry-After` waited out. Env `UPSTREAM_MAX_RETRY_AFTER_MS`, default 5000. */
    maxRetryAfterMs?: number;
    /** Whole send. Env `UPSTREAM_DEADLINE_MS`, default 8000. */
    deadlineMs?: number;
    /** Env `UPSTREAM_BREAKER_THRESHOLD`, default 5. */
    breakerThreshold?: number;
    /** Env `UPSTREAM_BREAKER_COOLDOWN_MS`, default 5000. */
    breakerCooldownMs?: number;
  };
  /** Handler time limit inside an idempotent request's transaction. Env `IDEMPOTENCY_TIMEOUT_MS`, default 10000. */
  idempotencyTimeoutMs?: number;
}

/** What {@link wireDependencies} hands back to createApp (and, through `app.locals.dependencies`, to tests). */
export interface Dependencies {
  /** The client routes use: resilient (timeouts, retries, breaker, metrics) and transaction-aware (idempotency). */
  prisma: PrismaClient;
  metrics: AppMetrics;
  notifier: Notifier;
  dbBreaker: CircuitBreaker;
  upstreamBreaker: CircuitBreaker;
  /** `Idempotency-Key` handling; register after the body parser. */
  idempotency: RequestHandler;
  /** `POST /api/tickets/:id/notify`. */
  notifications: Router;
  /** Sets `Retry-After` on 503s and turns transient database errors into them; register before the error handler. */
  unavailable: ErrorRequestHandler;
}

/**
 * Wires metrics, the resilient database client, idempotency and the notification provider into
 * `app`. Registers the metrics middleware and `GET /metrics` at once (call it before any other
 * middleware, so every request is timed from its start).
 */
export function wireDependencies(
  app: Express,
  deps: { prisma: PrismaClient; log?: (line: object) => void; upstreamUrl?: string; resilience?: ResilienceOptions },
): Dependencies {
  const log = (deps.log as Log | undefined) ?? stdoutLog;
  const r = deps.resilience ?? {};
  const metrics = createMetrics();
  app.use(metrics.middleware);
  app.get(METRICS_PATH, metrics.handler);

  const event = (msg: string, fields: Record<string, unknown>) =>
    log({ ts: new Date().toISOString(), level: 'warn', msg, ...fields });
  const breaker = (name: string, threshold: number, cooldownMs: number) =>
    new CircuitBreaker({
      name,
      threshold,
      cooldownMs,
      onChange: (state) => {
        metrics.breakerOpen.set({ dependency: name }, state === 'open' ? 1 : 0);
        event('breaker', { dependency: name, state });
      },
    });

  const dbBreaker = breaker(
    'database',
    r.db?.breakerThreshold ?? envNumber('DB_BREAKER_THRESHOLD', 5),
    r.db?.breakerCooldownMs ?? envNumber('DB_BREAKER_COOLDOWN_MS', 2_000),
  );
  const resilient = withDbResilience(deps.prisma, {
    timeoutMs: r.db?.timeoutMs ?? envNumber('DB_QUERY_TIMEOUT_MS', 5_000),
    retry: {
      attempts: r.db?.attempts ?? envNumber('DB_RETRY_ATTEMPTS', 3),
      baseDelayMs: r.db?.baseDelayMs ?? envNumber('DB_RETRY_BASE_MS', 50),
      maxDelayMs: r.db?.maxDelayMs ?? 1_000,
    },
    breaker: dbBreaker,
    observe: (labels, seconds) => metrics.dbDuration.observe(labels, seconds),
    onRetry: (info) => {
      metrics.retries.inc({ dependency: 'database', reason: info.reason });
      event('retry', { dependency: 'database', ...info });
    },
  });

  const upstreamBreaker = breaker(
    'upstream',
    r.upstream?.breakerThreshold ?? envNumber('UPSTREAM_BREAKER_THRESHOLD', 5),
    r.upstream?.breakerCooldownMs ?? envNumber('UPSTREAM_BREAKER_COOLDOWN_MS', 5_000),
  );
  const notifier = createNotifier({
    url: deps.upstreamUrl ?? (process.env.UPSTREAM_URL || undefined),
    timeoutMs: r.upstream?.timeoutMs ?? envNumber('UPSTREAM_TIMEOUT_MS', 2_000),
    retry: {
      attempts: r.upstream?.attempts ?? envNumber('UPSTREAM_RETRY_ATTEMPTS', 4),
      baseDelayMs: r.upstream?.baseDelayMs ?? envNumber('UPSTREAM_RETRY_BASE_MS', 100),
      maxDelayMs: r.upstream?.maxDelayMs ?? 2_000,
    },
    maxRetryAfterMs: r.upstream?.maxRetryAfterMs ?? envNumber('UPSTREAM_MAX_RETRY_AFTER_MS', 5_000),
    deadlineMs: r.upstream?.deadlineMs ?? envNumber('UPSTREAM_DEADLINE_MS', 8_000),
    breaker: upstreamBreaker,
    observe: (outcome, seconds) => metrics.upstreamDuration.observe({ outcome }, seconds),
    onRetry: (info) => {
      metrics.retries.inc({ dependency: 'upstream', reason: info.reason });
      event('retry', { dependency: 'upstream', ...info });
    },
  });

  const prisma = transactional(resilient);
  const idempotency = createIdempotency(resilient, {
    timeoutMs: r.idempotencyTimeoutMs ?? envNumber('IDEMPOTENCY_TIMEOUT_MS', 10_000),
    log,
  });

  const unavailable: ErrorRequestHandler = (err, _req, res, next) => {
    let error = err;
    if (!(error instanceof UnavailableError)) {
      const failure = classifyDbError(err);
      if (failure?.transient) {
        error = new UnavailableError('database', `The database is unavailable (${failure.reason}); retry later`, {
          retryAfterS: dbBreaker.retryAfterS,
          cause: err,
        });
      }
    }
    if (error instanceof UnavailableError && !res.headersSent) res.setHeader('Retry-After', String(error.retryAfterS));
    next(error);
  };

  const wired: Dependencies = {
    prisma,
    metrics,
    notifier,
    dbBreaker,
    upstreamBreaker,
    idempotency,
    notifications: notificationRoutes(prisma, notifier),
    unavailable,
  };
  app.locals.dependencies = wired;
  return wired;
}
