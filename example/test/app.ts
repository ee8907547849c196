import type { Db } from '../../fixtures/vitest.ts';
import { createApp } from '../src/app.ts';
import type { PrismaClient } from '../src/db.ts';

/** The app factory shipgate's `request` fixture uses: the real app, with its log lines captured. */
export function createTestApp({ prisma }: { prisma: unknown; db: Db }) {
  const logs: Record<string, unknown>[] = [];
  const app = createApp({ prisma: prisma as PrismaClient, log: (line) => logs.push(line as Record<string, unknown>) });
  app.locals.logs = logs;
  return app;
}
