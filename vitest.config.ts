import { defineConfig } from 'vitest/config';
import { shipgate } from './plugins/vitest/plugin.ts';

export default defineConfig({
  plugins: [
    shipgate({
      migrator: { kind: 'prisma-sql', migrationsDir: 'example/prisma/migrations' },
      prisma: 'example/src/db.ts#createPrisma',
      app: 'example/test/app.ts#createTestApp',
    }),
  ],
  test: {
    // Performance budgets run in their own phase (perf/vitest.config.ts), so other tests don't load the CPU.
    include: ['plugins/**/*.test.ts', 'specs/**/*.test.ts', 'example/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'example/src/generated/**', 'specs/consumer/apps/**'],
    // Each file gets its own database; two cores, so two workers keep both busy.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
