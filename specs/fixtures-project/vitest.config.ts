import { defineConfig } from 'vitest/config';
import { shipgate } from '../../plugins/vitest/plugin.ts';

// A project of its own for the exit-code matrix: `shipgate test`, `shipgate gate` and
// `playwright test` run with this folder as the cwd, as they would in a user's app.
// SHIPGATE_MIGRATIONS_DIR points a run at a broken migration; EXIT_FAIL=1 fails a test.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [shipgate({ migrator: { kind: 'prisma-sql', migrationsDir: 'migrations' } })],
  test: { include: ['*.fixture.ts'], maxWorkers: 1, hookTimeout: 120_000 },
});
