import path from 'node:path';
import { defineConfig } from '@playwright/test';
import type { ShipgatePlaywrightOptions } from './fixtures/playwright.ts';
import { reportDir } from './plugins/report/records.ts';

// The example app's E2E flows (`pnpm test:e2e`): one Postgres and one template per run
// (globalSetup, the same machinery as Vitest), and per worker a clone plus the app's own server.
export default defineConfig<ShipgatePlaywrightOptions>({
  testDir: 'specs/e2e',
  testMatch: '*.spec.ts',
  globalSetup: './plugins/playwright/global-setup.ts',
  outputDir: path.join(reportDir(), 'playwright', 'results'),
  fullyParallel: true,
  workers: 2,
  // CI retries a failed test; one that passes on retry is reported as flaky, not as passed.
  retries: process.env.CI ? 2 : 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['./plugins/playwright/reporter.ts']],
  timeout: 30_000,
  expect: { timeout: 5_000 },
  use: {
    shipgate: {
      migrator: { kind: 'prisma-sql', migrationsDir: 'example/prisma/migrations' },
      prisma: 'example/src/db.ts#createPrisma',
    },
    app: {
      command: 'node example/src/server.ts',
      healthPath: '/health',
      // Polls shorter than a run's steps (150 ms each), so the progress view shows them.
      env: { UI_POLL_MS: '100' },
    },
    seeder: 'specs/e2e/seed.ts#seedE2E',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
