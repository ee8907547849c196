import express from 'express';
import { type ResilienceOptions, wireDependencies } from './dependencies.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { errorHandler, notFoundHandler } from './http-error.ts';
import { createJobRunner } from './jobs.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { messageRoutes } from './routes/messages.ts';
import { searchRoutes } from './routes/search.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { userRoutes } from './routes/users.ts';
import { type Log, stdoutLog, traceMiddleware } from './trace.ts';
import { uiRoutes } from './ui/index.ts';

export interface AppDeps {
  /** The database client; tests pass one bound to their own database. */
  prisma: PrismaClient;
  /** Receives one structured line per request. Default: JSON to stdout. */
  log?: (line: object) => void;
  /** `GET /health` reports the database down when `SELECT 1` takes longer. Default 2000 ms. */
  healthTimeoutMs?: number;
  /** Pause before each step of a triage run. Default 150 ms; env `JOB_STEP_MS`. */
  jobStepMs?: number;
  /** Notification provider base URL for `POST /api/tickets/:id/notify`. Default env `UPSTREAM_URL`; unset = 503. */
  upstreamUrl?: string;
  /** Timeouts, retries and circuit breakers for the database and the provider; defaults from env (dependencies.ts). */
  resilience?: ResilienceOptions;
}

/** The help-desk HTTP API (see example/README.md). A factory, so each test can bind its own client. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag/304s: API clients and load tests should always get the body they asked for.
  app.set('etag', false);
  // Metrics, database timeouts/retries/breaker, Idempotency-Key and the notification provider.
  const dependencies = wireDependencies(app, deps);
  deps = { ...deps, prisma: dependencies.prisma };

  const log = (deps.log as Log | undefined) ?? stdoutLog;
  const jobs = createJobRunner(deps.prisma, { log, stepMs: deps.jobStepMs });
  app.use(traceMiddleware(log));
  app.use(express.json({ limit: '100kb' }));
  app.use(dependencies.idempotency);

  app.use(healthRoutes(deps.prisma, deps.healthTimeoutMs ?? 2_000));
  app.use(userRoutes(deps.prisma));
  app.use(ticketRoutes(deps.prisma));
  app.use(messageRoutes(deps.prisma));
  app.use(searchRoutes(deps.prisma));
  app.use(jobRoutes(deps.prisma, jobs));
  app.use(uiRoutes(deps.prisma, jobs));

  app.use(dependencies.notifications);

  app.use(notFoundHandler);
  app.use(dependencies.unavailable);
  app.use(errorHandler);
  return app;
}
