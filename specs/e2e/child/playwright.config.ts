import path from 'node:path';
import { defineConfig } from '@playwright/test';
import type { AppConfig, ShipgatePlaywrightOptions } from '../../../fixtures/playwright.ts';
import { reportDir } from '../../../plugins/report/records.ts';

// Child Playwright runs for specs/e2e/playwright.test.ts. CHILD_CASE picks the app (and a
// deliberately broken config); results go to the JSON file CHILD_JSON.
const root = path.resolve(import.meta.dirname, '../../..');
const apps: Record<string, AppConfig> = {
  ok: { command: 'node example/src/server.ts', cwd: root, healthPath: '/health' },
  crash: { command: ['node', '-e', "console.error('boom: cannot bind'); process.exit(3)"] },
  interrupt: { command: 'node example/src/server.ts', cwd: root, healthPath: '/health' },
};
const broken = process.env.CHILD_CASE === 'bad-config';

export default defineConfig<ShipgatePlaywrightOptions>({
  testDir: '.',
  testMatch: process.env.CHILD_CASE === 'interrupt' ? 'slow.pw.ts' : 'outcomes.pw.ts',
  globalSetup: '../../../plugins/playwright/global-setup.ts',
  outputDir: path.join(reportDir(), 'playwright', 'results'),
  fullyParallel: true,
  workers: 2,
  retries: process.env.CI ? 1 : 0,
  reporter: [['json', { outputFile: process.env.CHILD_JSON ?? path.join(reportDir(), 'child.json') }]],
  timeout: 20_000,
  use: {
    shipgate: {
      migrator: { kind: 'prisma-sql', migrationsDir: path.join(root, 'example/prisma/migrations') },
      prisma: path.join(root, 'example/src/db.ts#createPrisma'),
    },
    app: broken ? undefined : apps[process.env.CHILD_CASE ?? 'ok'],
    seeder: broken ? 'no/such/seeder.ts#seed' : path.join(root, 'specs/e2e/seed.ts#seedE2E'),
    reset: broken ? ('sometimes' as 'none') : 'truncate',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
