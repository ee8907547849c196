import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '../../fixtures/vitest.ts';
import { childPrefix, dropPrefix } from '../child-vitest.ts';
import { docBlocks } from '../support/doc-blocks.ts';
import { runPlaywright } from './child/run.ts';

/** docs/e2e.md's adoption example is extracted and run as a project of its own, so it cannot rot. */
const root = path.resolve(import.meta.dirname, '../..');

test('docs/e2e.md: the adoption example runs as written against the example app', async ({ shipgate }) => {
  const blocks = docBlocks('e2e.md', 'e2e-doc-test');
  expect([...blocks.keys()]).toEqual(['playwright.config.ts', 'e2e/tickets.spec.ts']);
  // Inside the repo, so `shipgate/playwright` resolves to this package; a dot folder that
  // .gitignore covers, so tsc and biome never see it.
  const dir = mkdtempSync(path.join(root, 'specs', '.readme-run-e2e-'));
  const prefix = childPrefix();
  try {
    mkdirSync(path.join(dir, 'e2e'));
    for (const [name, code] of blocks) writeFileSync(path.join(dir, name), code);
    symlinkSync(path.join(root, 'example', 'src'), path.join(dir, 'src'));
    symlinkSync(path.join(root, 'example', 'prisma'), path.join(dir, 'prisma'));
    symlinkSync(path.join(root, 'specs', 'e2e', 'seed.ts'), path.join(dir, 'e2e', 'seed.ts'));
    const run = await runPlaywright(['test', '--config', path.join(dir, 'playwright.config.ts'), '--reporter=line'], {
      SHIPGATE_PROVIDER: 'external',
      SHIPGATE_DATABASE_URL: shipgate.adminUrl,
      SHIPGATE_DB_PREFIX: prefix,
      SHIPGATE_REPORT_DIR: path.join(dir, 'report'),
      CI: '',
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/1 passed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  }
});
