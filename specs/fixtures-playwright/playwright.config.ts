import { defineConfig } from '@playwright/test';

// Child Playwright runs for specs/report: no browser needed, just the reporter adapter.
export default defineConfig({
  testDir: '.',
  testMatch: '*.pw.ts',
  retries: 1,
  workers: 1,
  reporter: [['../../plugins/playwright/reporter.ts']],
});
