import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findPrismaSchema } from '../../prisma/schema-location.ts';
import { firstExisting, printHelp, root, usageError } from '../run.ts';
import { PHASE_CONFIGS } from './test.ts';

/**
 * `shipgate init [--dry-run]`: adds shipgate to the project in the cwd. Writes a Vitest config
 * with the plugin when the project has none, and the `test` script `shipgate test` when the
 * project has none (or npm's placeholder). Never overwrites a file; says what it did and what
 * it left, and what to do by hand.
 */
export const summary =
  'add shipgate to this project: a Vitest config with the plugin and a `test` script (never overwrites)';

const USAGE = `usage: shipgate init [--dry-run]

Adds shipgate to the project in the current folder, after detecting its package manager,
module system (ESM or CommonJS), Prisma schema and driver adapter:
  - vitest.config.ts (vitest.config.mjs in JavaScript) with the shipgate() plugin and the
    project's migrations folder, unless a vitest.config.* or vite.config.* exists;
  - a first test, test/shipgate.test.*;
  - shipgate.d.ts, the prisma fixture's types (TypeScript with a Prisma schema);
  - .github/workflows/shipgate.yml: the PR check and the migration smoke when migrations change;
  - "test": "shipgate test" in package.json, unless a test script exists (npm's placeholder aside).
Never overwrites a file. --dry-run prints the plan and writes nothing.
`;

const NPM_PLACEHOLDER = /no test specified/;

export type PackageManager = 'npm' | 'pnpm' | 'yarn';

/** What init found in the project. */
export interface Detected {
  manager: PackageManager;
  /** ESM (`"type": "module"` or TypeScript) or CommonJS JavaScript. */
  module: 'esm' | 'cjs';
  typescript: boolean;
  /** The Prisma schema, if any (how it was found in `schemaSource`). */
  schema?: string;
  schemaSource?: string;
  /** `@prisma/adapter-pg` in the project's dependencies (Prisma 7 needs a driver adapter). */
  adapterPg: boolean;
  migrationsDir: string;
}

/** The package manager by lockfile (then `packageManager`), else npm. */
export function detectManager(dir: string, pkg: { packageManager?: string }): PackageManager {
  if (existsSync(path.join(dir, 'pnpm-lock.yaml'))) return 'pnpm';
  if (existsSync(path.join(dir, 'yarn.lock'))) return 'yarn';
  if (existsSync(path.join(dir, 'package-lock.json'))) return 'npm';
  const named = /^(npm|pnpm|yarn)@/.exec(pkg.packageManager ?? '')?.[1];
  return (named as PackageManager | undefined) ?? 'npm';
}

const RUN: Record<PackageManager, { install: string; exec: string; cache: string }> = {
  npm: { install: 'npm ci', exec: 'npx', cache: 'npm' },
  pnpm: { install: 'pnpm install --frozen-lockfile', exec: 'pnpm exec', cache: 'pnpm' },
  yarn: { install: 'yarn install --immutable', exec: 'yarn', cache: 'yarn' },
};

function workflow(d: Detected): string {
  const run = RUN[d.manager];
  // Pinned by commit, as every workflow should be.
  const setup =
    d.manager === 'pnpm' ? '      - uses: pnpm/action-setup@a7487c7e89a18df4991f7f222e4898a00d66ddda # v4.1.0\n' : '';
  return `# Written by \`shipgate init\`: the PR check (the whole gate, one exit code) and, when a PR
# changes the migrations, the migration smoke on a seeded throwaway Postgres.
name: shipgate

on:
  pull_request:

permissions:
  contents: read

jobs:
  gate:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          fetch-depth: 0
${setup}      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0
        with:
          node-version: 24
          cache: ${run.cache}
      - run: ${run.install}
      - run: ${run.exec} shipgate test
      - name: migration smoke (when ${d.migrationsDir} changed)
        run: |
          if git diff --quiet "origin/\${{ github.base_ref }}" -- ${d.migrationsDir}; then
            echo "no migration changes"
          else
            ${run.exec} shipgate migrate smoke --base "origin/\${{ github.base_ref }}" --head ${d.migrationsDir}
          fi
`;
}

export interface InitPlan {
  writes: { file: string; text: string }[];
  packageJson?: { script: string };
  notes: string[];
}

/** Looks at the project at `dir`: package manager, module system, Prisma schema and adapter. */
export function detect(dir: string): Detected {
  const pkgFile = path.join(dir, 'package.json');
  if (!existsSync(pkgFile)) {
    throw new Error(`no package.json in ${dir}; run shipgate init in the project's root (or npm init first)`);
  }
  let pkg: {
    type?: string;
    packageManager?: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  } catch (err) {
    throw new Error(`${pkgFile} is not valid JSON (${(err as Error).message}); fix it, then run shipgate init again`);
  }
  const typescript = existsSync(path.join(dir, 'tsconfig.json'));
  const schema = findPrismaSchema(dir);
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  return {
    manager: detectManager(dir, pkg),
    module: typescript || pkg.type === 'module' ? 'esm' : 'cjs',
    typescript,
    ...(schema.ok ? { schema: schema.path, schemaSource: schema.source } : {}),
    adapterPg: '@prisma/adapter-pg' in deps,
    migrationsDir: schema.ok
      ? path.relative(
          dir,
          path.join(schema.path.endsWith('.prisma') ? path.dirname(schema.path) : schema.path, 'migrations'),
        )
      : 'prisma/migrations',
  };
}

/** What `init` would do in the project at `dir`. */
export function planInit(dir: string): InitPlan & { detected: Detected } {
  const d = detect(dir);
  const plan: InitPlan & { detected: Detected } = { writes: [], notes: [], detected: d };
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const ext = d.typescript ? 'ts' : d.module === 'esm' ? 'js' : 'mjs';
  const add = (file: string, text: string, why: string) => {
    if (existsSync(path.join(dir, file))) plan.notes.push(`${file} exists, left as it is (${why}).`);
    else plan.writes.push({ file, text });
  };
  const existing = firstExisting(dir, PHASE_CONFIGS.unit);
  if (existing) {
    plan.notes.push(
      `${path.relative(dir, existing)} exists: add shipgate() to its plugins yourself (import { shipgate } from 'shipgate').`,
    );
  } else {
    const prismaHint = d.schema
      ? d.adapterPg
        ? "  // prisma: 'src/db.js#createPrisma' ((url, { pool }) => new PrismaClient({ adapter: new PrismaPg(pool ?? { connectionString: url }) }))\n"
        : '  // Prisma 7 needs a driver adapter for the prisma fixture: npm i @prisma/adapter-pg\n'
      : '';
    add(
      `vitest.config.${d.typescript ? 'ts' : 'mjs'}`,
      `import { shipgate } from 'shipgate';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // A throwaway Postgres per run, the migrations applied once into a template, a clone per test file.
${prismaHint}  // app: 'src/app.js#createApp' enables the request fixture (a supertest agent on your app).
  plugins: [shipgate({ migrator: { kind: 'prisma-sql', migrationsDir: '${d.migrationsDir}' } })],
  test: { hookTimeout: 120_000 },
});
`,
      'the plugin config',
    );
  }
  add(
    `test/shipgate.test.${ext}`,
    `import { expect, test } from 'shipgate/vitest';

// A first test: each test file gets its own clone of the migrated template database.
test('the migrations are applied to the database of this file', async ({ db }) => {
  const tables = await db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
  expect(tables.length).toBeGreaterThan(0);
});
`,
    'the first test',
  );
  if (d.typescript && d.schema) {
    add(
      'shipgate.d.ts',
      `// Types for shipgate's prisma fixture (written by shipgate init). Point the import at your
// generated client if its output is not @prisma/client.
import type { PrismaClient } from '@prisma/client';

declare module 'shipgate/vitest' {
  interface Register {
    prisma: PrismaClient;
  }
}
`,
      'the fixture types',
    );
  }
  add('.github/workflows/shipgate.yml', workflow(d), 'the CI workflow');
  if (!existsSync(path.join(dir, d.migrationsDir))) {
    plan.notes.push(
      `no migrations folder at ${d.migrationsDir}: create one (prisma migrate dev) or set migrator.migrationsDir.`,
    );
  }
  const current = pkg.scripts?.test;
  if (!current || NPM_PLACEHOLDER.test(current)) plan.packageJson = { script: 'shipgate test' };
  else if (!/shipgate/.test(current)) {
    plan.notes.push(
      `package.json already has "test": "${current}"; run \`shipgate test\` for the whole gate and one report.`,
    );
  }
  return plan;
}

export default async function init(argv: string[]): Promise<number> {
  let values: { 'dry-run'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return usageError('init', (err as Error).message, USAGE);
  }
  if (values.help) return printHelp(USAGE);
  let plan: ReturnType<typeof planInit>;
  try {
    plan = planInit(root);
  } catch (err) {
    process.stderr.write(`shipgate init: ${(err as Error).message}\n`);
    return 1;
  }
  const dry = values['dry-run'] === true;
  const d = plan.detected;
  process.stdout.write(
    `shipgate init: ${d.manager}, ${d.typescript ? 'TypeScript' : d.module === 'esm' ? 'ESM JavaScript' : 'CommonJS JavaScript'}, ${d.schema ? `Prisma schema ${path.relative(root, d.schema)} (${d.schemaSource})${d.adapterPg ? ' with @prisma/adapter-pg' : ', no driver adapter'}` : 'no Prisma schema'}\n`,
  );
  const verb = dry ? 'would write' : 'wrote';
  for (const w of plan.writes) {
    // `wx`: fails instead of overwriting a file that appeared meanwhile.
    if (!dry) {
      mkdirSync(path.dirname(path.join(root, w.file)), { recursive: true });
      writeFileSync(path.join(root, w.file), w.text, { flag: 'wx' });
    }
    process.stdout.write(`shipgate init: ${verb} ${w.file}\n`);
  }
  if (plan.packageJson) {
    if (!dry) {
      const file = path.join(root, 'package.json');
      const text = readFileSync(file, 'utf8');
      const pkg = JSON.parse(text) as { scripts?: Record<string, string> };
      pkg.scripts = { ...pkg.scripts, test: plan.packageJson.script };
      const indent = /^\{\n(\s+)"/.exec(text)?.[1] ?? '  ';
      writeFileSync(file, `${JSON.stringify(pkg, null, indent)}\n`);
    }
    process.stdout.write(
      `shipgate init: ${dry ? 'would set' : 'set'} "test": "${plan.packageJson.script}" in package.json\n`,
    );
  }
  for (const n of plan.notes) process.stdout.write(`shipgate init: note: ${n}\n`);
  process.stdout.write(`shipgate init: next: ${d.manager} test; see the README for the prisma and request fixtures\n`);
  return 0;
}
