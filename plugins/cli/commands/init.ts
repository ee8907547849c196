import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

Adds shipgate to the project in the current folder:
  - vitest.config.ts (vitest.config.mjs in a JavaScript project) with the shipgate() plugin and
    the project's migrations folder, unless a vitest.config.* or vite.config.* exists;
  - "test": "shipgate test" in package.json, unless a test script exists (npm's placeholder aside).
Never overwrites a file. --dry-run prints the plan and writes nothing.
`;

const NPM_PLACEHOLDER = /no test specified/;

export interface InitPlan {
  writes: { file: string; text: string }[];
  packageJson?: { script: string };
  notes: string[];
}

/** What `init` would do in the project at `dir`. */
export function planInit(dir: string): InitPlan {
  const plan: InitPlan = { writes: [], notes: [] };
  const pkgFile = path.join(dir, 'package.json');
  if (!existsSync(pkgFile)) {
    throw new Error(`no package.json in ${dir}; run shipgate init in the project's root (or npm init first)`);
  }
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { type?: string; scripts?: Record<string, string> };
  const ts = existsSync(path.join(dir, 'tsconfig.json'));
  const schema = findPrismaSchema(dir);
  const migrations = schema.ok
    ? path.relative(
        dir,
        path.join(schema.path.endsWith('.prisma') ? path.dirname(schema.path) : schema.path, 'migrations'),
      )
    : 'prisma/migrations';
  const existing = firstExisting(dir, PHASE_CONFIGS.unit);
  if (existing) {
    plan.notes.push(
      `${path.relative(dir, existing)} exists: add shipgate() to its plugins yourself (import { shipgate } from 'shipgate').`,
    );
  } else {
    const file = ts || pkg.type === 'module' ? 'vitest.config.ts' : 'vitest.config.mjs';
    plan.writes.push({
      file,
      text: `import { shipgate } from 'shipgate';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // A throwaway Postgres per run, the migrations applied once into a template, a clone per test file.
  // prisma: 'src/db.ts#createPrisma' and app: 'src/app.ts#createApp' enable the prisma and request fixtures.
  plugins: [shipgate({ migrator: { kind: 'prisma-sql', migrationsDir: '${migrations}' } })],
  test: { hookTimeout: 120_000 },
});
`,
    });
  }
  if (!existsSync(path.join(dir, migrations))) {
    plan.notes.push(
      `no migrations folder at ${migrations}: create one (prisma migrate dev) or set migrator.migrationsDir.`,
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
  let plan: InitPlan;
  try {
    plan = planInit(root);
  } catch (err) {
    process.stderr.write(`shipgate init: ${(err as Error).message}\n`);
    return 1;
  }
  const dry = values['dry-run'] === true;
  const verb = dry ? 'would write' : 'wrote';
  for (const w of plan.writes) {
    // `wx`: fails instead of overwriting a file that appeared meanwhile.
    if (!dry) writeFileSync(path.join(root, w.file), w.text, { flag: 'wx' });
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
  process.stdout.write(
    'shipgate init: next: npm test (or pnpm test); see the README for the prisma and request fixtures\n',
  );
  return 0;
}
