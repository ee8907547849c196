import express from 'express';
import type { PrismaClient } from './generated/prisma/client.ts';
import { errorHandler, notFoundHandler } from './http-error.ts';
import { healthRoutes } from './routes/health.ts';
import { messageRoutes } from './routes/messages.ts';
import { searchRoutes } from './routes/search.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { userRoutes } from './routes/users.ts';
import { type Log, stdoutLog, traceMiddleware } from './trace.ts';

export interface AppDeps {
  /** The database client; tests pass one bound to their own database. */
  prisma: PrismaClient;
  /** Receives one structured line per request. Default: JSON to stdout. */
  log?: (line: object) => void;
  /** `GET /health` reports the database down when `SELECT 1` takes longer. Default 2000 ms. */
  healthTimeoutMs?: number;
}

/** The help-desk HTTP API (see example/README.md). A factory, so each test can bind its own client. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag/304s: API clients and load tests should always get the body they asked for.
  app.set('etag', false);

  app.use(traceMiddleware((deps.log as Log | undefined) ?? stdoutLog));
  app.use(express.json({ limit: '100kb' }));

  app.use(healthRoutes(deps.prisma, deps.healthTimeoutMs ?? 2_000));
  app.use(userRoutes(deps.prisma));
  app.use(ticketRoutes(deps.prisma));
  app.use(messageRoutes(deps.prisma));
  app.use(searchRoutes(deps.prisma));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
