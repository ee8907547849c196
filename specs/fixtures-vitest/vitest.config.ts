import { defineConfig } from 'vitest/config';
import { shipgate } from '../../plugins/vitest/plugin.ts';

// Config for the child Vitest runs that specs/*.test.ts start to observe failures from outside.
export default defineConfig({
  root: import.meta.dirname,
  // reporters: false: these runs are observed from outside and must not add records to the parent's report.
  plugins: [
    shipgate({ migrator: { kind: 'prisma-sql', migrationsDir: '../../example/prisma/migrations' }, reporters: false }),
  ],
  test: {
    include: ['*.fixture.ts'],
    maxWorkers: 1,
    reporters: ['default'],
    testTimeout: 30_000,
  },
});
