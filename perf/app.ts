import { createApp } from '../example/src/app.ts';
import type { PrismaClient } from '../example/src/db.ts';
import type { Db } from '../fixtures/vitest.ts';

/**
 * The example app as the budget phase runs it: the real app, with its per-request log lines
 * kept in memory instead of written to stdout (thousands of lines would only add noise and
 * CPU to the measurement). Errors are kept for the failure message.
 */
export function createPerfApp({ prisma }: { prisma: unknown; db: Db }) {
  const errors: Record<string, unknown>[] = [];
  let requests = 0;
  const app = createApp({
    prisma: prisma as PrismaClient,
    log: (line) => {
      requests++;
      if ((line as { level?: string }).level === 'error' && errors.length < 50)
        errors.push(line as Record<string, unknown>);
    },
  });
  app.locals.errors = errors;
  app.locals.requestCount = () => requests;
  return app;
}
