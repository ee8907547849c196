import { defineConfig } from 'vitest/config';

// Child Vitest run for specs/report: plain tests through shipgate's reporter, no database.
export default defineConfig({
  root: import.meta.dirname,
  test: {
    include: [process.env.REPORT_FIXTURE ?? 'report-mix.fixture.ts'],
    reporters: ['default', '../../plugins/vitest/reporter.ts'],
  },
});
