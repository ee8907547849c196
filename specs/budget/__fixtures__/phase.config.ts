import path from 'node:path';
import { defineConfig } from 'vitest/config';

/** A budget phase without a database, for specs/budget/phase.test.ts. */
export default defineConfig({
  root: path.resolve(import.meta.dirname, '../../..'),
  test: {
    include: ['specs/budget/__fixtures__/phase.fixture.ts'],
    maxWorkers: 1,
    testTimeout: 60_000,
    reporters: ['default', './plugins/vitest/budget-reporter.ts'],
  },
});
