import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '../fixtures/vitest.ts';
import { childPrefix, dropPrefix, runChild } from './child-vitest.ts';

/** The README's adoption example is extracted and run, so it cannot rot. */
const root = path.resolve(import.meta.dirname, '..');

function readmeBlocks(): Map<string, string> {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- readme-test: (\S+) -->\n```ts\n([\s\S]*?)```/g)) {
    blocks.set(m[1] as string, m[2] as string);
  }
  return blocks;
}

test('README: the adoption example runs as written against the example app', async ({ shipgate }) => {
  const blocks = readmeBlocks();
  expect([...blocks.keys()]).toEqual(['vitest.config.ts', 'tickets.test.ts']);
  // A throwaway "user project" inside the repo, so `shipgate/…` resolves to this package.
  const dir = mkdtempSync(path.join(root, 'specs', '.readme-run-'));
  const prefix = childPrefix();
  try {
    for (const [name, code] of blocks) writeFileSync(path.join(dir, name), code);
    symlinkSync(path.join(root, 'example', 'src'), path.join(dir, 'src'));
    symlinkSync(path.join(root, 'example', 'prisma'), path.join(dir, 'prisma'));
    const run = await runChild(['run', '--root', dir, '--config', path.join(dir, 'vitest.config.ts')], {
      SHIPGATE_PROVIDER: 'external',
      SHIPGATE_DATABASE_URL: shipgate.adminUrl,
      SHIPGATE_DB_PREFIX: prefix,
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Tests\s+3 passed \(3\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  }
});
