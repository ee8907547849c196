import type { PrismaClient } from '../../example/src/db.ts';
import type { seedE2E } from './seed.ts';

// Types the `prisma` and `seed` fixtures for this project's E2E flows.
declare module '../../fixtures/playwright.ts' {
  interface Register {
    prisma: PrismaClient;
    seeder: typeof seedE2E;
  }
}
