import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '../../fixtures/vitest.ts';
import { childPrefix, dropPrefix, runChild } from '../child-vitest.ts';
import { docBlocks } from '../support/doc-blocks.ts';

/**
 * docs/queries.md's example is extracted and run as a project of its own, against the example
 * app through the package's own entry point (`shipgate/vitest`), with CI set so the default
 * N+1 check is on too: it cannot rot.
 */
const root = path.resolve(import.meta.dirname, '../..');

const CONFIG = `import { defineConfig } from 'vitest/config';
import { shipgate } from 'shipgate/vitest/plugin';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [
    shipgate({
      migrator: { kind: 'prisma-sql', migrationsDir: 'prisma/migrations' },
      prisma: 'src/db.ts#createPrisma',
      app: 'test/app.ts#createTestApp',
      reporters: false,
    }),
  ],
  test: { include: ['test/**/*.test.ts'], maxWorkers: 1 },
});
`;

test('docs/queries.md: the examples run as written against the example app, the N+1 check on', async ({ shipgate }) => {
  const blocks = docBlocks('queries.md', 'queries-doc-test');
  expect([...blocks.keys()]).toEqual(['test/tickets-queries.test.ts', 'test/tickets-scaling.test.ts']);
  // Inside the repo, so `shipgate/vitest` resolves to this package; a dot folder that
  // .gitignore covers, so tsc and biome never see it.
  const dir = mkdtempSync(path.join(root, 'specs', '.readme-run-queries-'));
  const prefix = childPrefix();
  try {
    mkdirSync(path.join(dir, 'test'));
    writeFileSync(path.join(dir, 'vitest.config.ts'), CONFIG);
    for (const [name, code] of blocks) writeFileSync(path.join(dir, name), code);
    symlinkSync(path.join(root, 'example', 'src'), path.join(dir, 'src'));
    symlinkSync(path.join(root, 'example', 'prisma'), path.join(dir, 'prisma'));
    symlinkSync(path.join(root, 'example', 'test', 'app.ts'), path.join(dir, 'test', 'app.ts'));
    const run = await runChild(['run', '--config', path.join(dir, 'vitest.config.ts')], {
      SHIPGATE_PROVIDER: 'external',
      SHIPGATE_DATABASE_URL: shipgate.adminUrl,
      SHIPGATE_DB_PREFIX: prefix,
      CI: 'true',
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/2 passed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  }
}, 120_000);
