import { defineConfig } from 'vitest/config';
import { shipgate } from '../../plugins/vitest/plugin.ts';

// Child runs for specs/queries: the fixture config, with shipgate's reporter writing records
// into SHIPGATE_REPORT_DIR (the spec's own temp dir), so the query evidence can be read back.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [
    shipgate({ migrator: { kind: 'prisma-sql', migrationsDir: '../../example/prisma/migrations' }, reporters: false }),
  ],
  test: {
    include: ['n-plus-one.fixture.ts'],
    maxWorkers: 1,
    reporters: ['default', '../../plugins/vitest/reporter.ts'],
    testTimeout: 30_000,
  },
});
