import { defineConfig } from 'vitest/config';
import { shipgate } from '../../plugins/vitest/plugin.ts';

// Child Vitest run for specs/bad-input.test.ts: config keys with typos (issue 14 #11).
const typos: unknown = {
  isolaton: 'test',
  postgres: { provider: 'embedded', tmpfs: 'yes' },
  migrator: { kind: 'prisma-sql', migrationsDir: '../smoke/fixtures/shop/migrations', migrationDir: 'x' },
};
export default defineConfig({
  root: import.meta.dirname,
  plugins: [
    // The typos a user makes in a .js config, where no type checks them.
    shipgate(typos as Parameters<typeof shipgate>[0]),
  ],
  test: { include: ['passes.fixture.ts'] },
});
