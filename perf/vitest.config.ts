import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { shipgate } from '../plugins/vitest/plugin.ts';

/**
 * The budget phase: `vitest run --config perf/vitest.config.ts` (with
 * `SHIPGATE_BUDGET_PROFILE=smoke` in `pnpm test`). Separate from the other tests so nothing
 * else competes for the CPU while latency is measured: one worker, one file at a time.
 */
export default defineConfig({
  root: path.resolve(import.meta.dirname, '..'),
  plugins: [
    shipgate({
      migrator: { kind: 'prisma-sql', migrationsDir: 'example/prisma/migrations' },
      prisma: 'example/src/db.ts#createPrisma',
      app: 'perf/app.ts#createPerfApp',
      seed: 'perf/seed.ts#seedTemplate',
      // Latency budgets measure the app, not the query tap's loopback hop.
      queries: { capture: false },
    }),
  ],
  test: {
    include: ['perf/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default', './plugins/vitest/budget-reporter.ts'],
  },
});
