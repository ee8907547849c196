import { defineConfig } from '@playwright/test';
import type { ShipgatePlaywrightOptions } from '../../fixtures/playwright.ts';

// `playwright test` with shipgate's globalSetup for the exit-code matrix: a database and an
// in-process app per worker, no browser (the test uses `request`).
export default defineConfig<ShipgatePlaywrightOptions>({
  testDir: '.',
  testMatch: '*.pw.ts',
  globalSetup: '../../plugins/playwright/global-setup.ts',
  workers: 1,
  reporter: [['line'], ['../../plugins/playwright/reporter.ts']],
  use: {
    shipgate: { migrator: { kind: 'prisma-sql', migrationsDir: 'migrations' } },
    app: { factory: 'app.ts#createApp' },
  },
});
