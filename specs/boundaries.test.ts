import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { importsOf } from './support/imports.ts';

/**
 * The package's import rules, checked on every shipped module (plugins/ and fixtures/, tests
 * aside), so the layering holds as the code grows:
 *   1. test frameworks (vitest, vite, @playwright/test) are imported only by their adapters,
 *      plugins/vitest/ and plugins/playwright/, and by fixtures/;
 *   2. plugins/core/ is the bottom layer: it imports no other plugins/ folder;
 *   3. the framework-free engine (every plugins/ folder but vitest/, playwright/ and cli/) never
 *      imports the adapters or the CLI;
 *   4. nothing imports a test file, and nothing shipped imports specs/ or this repo's scripts/;
 *   5. another folder is reached only through its public modules: its index.ts, or a module that
 *      index.ts re-exports from (so the index is the folder's declared surface). core/, the
 *      bottom layer of small helpers, is public throughout.
 */

const root = path.resolve(import.meta.dirname, '..');
const FRAMEWORKS = /^(vitest|vite|@playwright\/test)(\/|$)/;
const ADAPTERS = ['plugins/vitest', 'plugins/playwright', 'plugins/cli'];

function shipped(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter((f) => !f.includes('__fixtures__'));
}

const files = [...shipped('plugins'), ...shipped('fixtures')];
const folderOf = (file: string) => file.split('/').slice(0, 2).join('/');

function violations(rule: (file: string, spec: string, target: string | undefined) => string | undefined): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const spec of importsOf(readFileSync(path.join(root, file), 'utf8'))) {
      const target = spec.startsWith('.')
        ? path.relative(root, path.resolve(root, path.dirname(file), spec))
        : undefined;
      const problem = rule(file, spec, target);
      if (problem) out.push(`${file}: ${problem} ('${spec}')`);
    }
  }
  return out;
}

describe('import boundaries of the shipped modules', () => {
  test('the rule reader finds static, type, re-export and dynamic imports, and skips comments', () => {
    const src = `import a from 'x';\nimport type { B } from "./b.ts";\nexport { c } from './c.ts';\nimport './side.ts';\n// import z from 'nope';\nconst d = await import('./d.ts');\nconst t = \`\nimport e from 'text';\n\`;\n`;
    expect(importsOf(src)).toEqual(['x', './b.ts', './c.ts', './side.ts', './d.ts']);
  });

  test('every shipped module is read (more than 100)', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  test('test frameworks only in their adapters and fixtures/', () => {
    expect(
      violations((file, spec) =>
        FRAMEWORKS.test(spec) &&
        !['plugins/vitest', 'plugins/playwright'].includes(folderOf(file)) &&
        !file.startsWith('fixtures/')
          ? 'imports a test framework outside its adapter'
          : undefined,
      ),
    ).toEqual([]);
  });

  test('plugins/core imports no other plugins/ folder', () => {
    expect(
      violations((file, _spec, target) =>
        file.startsWith('plugins/core/') && target?.startsWith('plugins/') && !target.startsWith('plugins/core/')
          ? 'core imports a higher layer'
          : undefined,
      ),
    ).toEqual([]);
  });

  test('the engine never imports the adapters or the CLI', () => {
    expect(
      violations((file, _spec, target) =>
        file.startsWith('plugins/') &&
        !ADAPTERS.includes(folderOf(file)) &&
        target !== undefined &&
        ADAPTERS.includes(folderOf(target))
          ? `the engine imports ${folderOf(target)}`
          : undefined,
      ),
    ).toEqual([]);
  });

  test("nothing shipped imports a test file, specs/ or this repo's scripts/", () => {
    expect(
      violations((_file, spec, target) =>
        spec.endsWith('.test.ts') ||
        target?.startsWith('specs/') ||
        target?.startsWith('scripts/') ||
        target?.startsWith('bench/')
          ? 'imports what the package does not ship'
          : undefined,
      ),
    ).toEqual([]);
  });

  test('another folder is imported only through its public modules (its index.ts and what that re-exports)', () => {
    const publicOf = new Map<string, Set<string>>();
    for (const f of files.filter((f) => /^plugins\/[^/]+\/index\.ts$/.test(f))) {
      const pub = new Set([f]);
      for (const spec of importsOf(readFileSync(path.join(root, f), 'utf8'))) {
        if (spec.startsWith('.')) pub.add(path.relative(root, path.resolve(root, path.dirname(f), spec)));
      }
      publicOf.set(folderOf(f), pub);
    }
    expect(publicOf.size).toBeGreaterThan(8);
    expect(
      violations((file, _spec, target) => {
        if (!target?.startsWith('plugins/') || target.split('/').length < 3) return undefined;
        const folder = folderOf(target);
        if (folder === folderOf(file) || folder === 'plugins/core') return undefined;
        const pub = publicOf.get(folder);
        if (!pub) return `${folder} has no index.ts to declare its public modules`;
        return pub.has(target) ? undefined : `deep import of ${target}, which ${folder}/index.ts does not export from`;
      }),
    ).toEqual([]);
  });
});
