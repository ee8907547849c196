import type express from 'express';
import type { PrismaClient } from '../src/db.ts';

// Types the `prisma` and `app` fixtures for this project's tests.
declare module '../../fixtures/vitest.ts' {
  interface Register {
    prisma: PrismaClient;
    app: express.Express & { locals: { logs: Record<string, unknown>[] } };
  }
}
