/**
 * The two migration sets the smoke compares. A side is a migrations folder on disk, or (base
 * only) a git ref whose migrations folder is read with `git ls-tree`/`git show`, without a
 * checkout. Git sides are written to a temp folder for the migrators, removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTeardown } from '../core/cleanup.ts';
import { MigrationError, ShipgateError } from '../core/errors.ts';
import { readMigrationsFolder } from '../migrate/migrations-dir.ts';

/** One side: its migrations in Prisma's order, the lockfile, and a folder the migrators can read. */
export interface MigrationSet {
  source: 'dir' | 'git';
  label: string;
  /** Folder holding `<name>/migration.sql` (a temp copy for git sides). */
  dir: string;
  commit?: string;
  migrations: { name: string; sql: string | undefined; path: string }[];
  lockfile: string | undefined;
  /** Removes the temp copy (git sides). */
  dispose(): void;
}

/** A git ref or folder that cannot be read. Code `SHIPGATE_SMOKE_SOURCE`. */
export class SmokeSourceError extends ShipgateError {}

/** Reads a migrations folder (Prisma's listing rules). */
export function readDirSet(dir: string): MigrationSet {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new SmokeSourceError('SHIPGATE_SMOKE_SOURCE', `Migrations folder "${dir}" is a file, not a folder.`, {
      hint: 'Pass the folder that holds the `<timestamp>_<name>/migration.sql` folders (--base/--head).',
    });
  }
  const folder = readMigrationsFolder(dir);
  return {
    source: 'dir',
    label: dir,
    dir,
    migrations: folder.migrations.map((m) => ({ name: m.name, sql: m.sql, path: m.path })),
    lockfile: folder.lockfile,
    dispose: () => {},
  };
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
}

function gitError(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim().split('\n')[0] ?? '';
}

/**
 * Reads `<ref>:<migrationsPath>` through git. `migrationsPath` is relative to the repo root.
 * An unknown ref, or a path missing at that ref, is a SmokeSourceError naming both.
 */
export function readGitSet(cwd: string, ref: string, migrationsPath: string): MigrationSet {
  let commit: string;
  try {
    commit = git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
  } catch (err) {
    throw new SmokeSourceError(
      'SHIPGATE_SMOKE_SOURCE',
      `Base "${ref}" is neither a migrations folder (${path.resolve(cwd, ref)} does not exist) nor a git ref in ${cwd} (${gitError(err) || 'unknown revision'}).`,
      {
        cause: err,
        hint: 'Pass --base <folder> or --base <ref> (e.g. origin/main; in CI fetch it first: `git fetch origin main`), or set SHIPGATE_SMOKE_BASE.',
      },
    );
  }
  const clean = migrationsPath.replace(/\\/g, '/').replace(/\/+$/, '');
  const listing = git(cwd, ['ls-tree', '-r', '-z', '--name-only', commit, '--', `${clean}/`])
    .split('\0')
    .filter(Boolean);
  if (listing.length === 0) {
    throw new SmokeSourceError(
      'SHIPGATE_SMOKE_SOURCE',
      `Git ref "${ref}" (${commit.slice(0, 12)}) has no files under "${clean}/".`,
      {
        hint: 'Set --migrations-path (SmokeOptions.migrationsPath) to the migrations folder relative to the repo root.',
      },
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-base-'));
  const unregister = onTeardown(`smoke base copy ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const dispose = () => {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const file of listing) {
      const rel = file.slice(clean.length + 1);
      const parts = rel.split('/');
      // Only what Prisma reads: <name>/migration.sql and migration_lock.toml.
      if (!(rel === 'migration_lock.toml' || (parts.length === 2 && parts[1] === 'migration.sql'))) continue;
      const content = execFileSync('git', ['-C', cwd, 'show', `${commit}:${file}`], { maxBuffer: 256 * 1024 * 1024 });
      mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), content);
    }
    const set = readDirSet(dir);
    return { ...set, source: 'git', label: `${ref}:${clean}`, commit, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

/** The repo root of `cwd`, or undefined outside a git work tree. */
export function gitRoot(cwd: string): string | undefined {
  try {
    return git(cwd, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    return undefined;
  }
}

/** Reads the base side: a folder when `base` names one, else a git ref. */
export function readBase(base: string, opts: { cwd: string; head: string; migrationsPath?: string }): MigrationSet {
  const asDir = path.resolve(opts.cwd, base);
  if (existsSync(asDir)) return readDirSet(asDir);
  const root = gitRoot(opts.cwd);
  if (!root) {
    throw new SmokeSourceError(
      'SHIPGATE_SMOKE_SOURCE',
      `Base "${base}" is not a folder (${asDir} does not exist), and ${opts.cwd} is not in a git repository, so it cannot be a git ref either.`,
      { hint: 'Pass --base <migrations folder>, or run inside the repository (SmokeOptions.cwd).' },
    );
  }
  const rel = opts.migrationsPath ?? path.relative(root, opts.head);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new SmokeSourceError(
      'SHIPGATE_SMOKE_SOURCE',
      `Head folder ${opts.head} is outside the repository ${root}, so the base's migrations path is unknown.`,
      { hint: 'Set --migrations-path (SmokeOptions.migrationsPath), e.g. prisma/migrations.' },
    );
  }
  return readGitSet(opts.cwd, base, rel);
}

/** Reads the head side (a folder); a missing one is a clear error. */
export function readHead(head: string): MigrationSet {
  try {
    return readDirSet(head);
  } catch (err) {
    if (err instanceof MigrationError && err.code === 'SHIPGATE_MIGRATIONS_DIR_MISSING') {
      throw new SmokeSourceError('SHIPGATE_SMOKE_SOURCE', `Head migrations folder "${head}" does not exist.`, {
        cause: err,
        hint: 'Pass --head <folder> (default prisma/migrations; env SHIPGATE_MIGRATIONS_DIR).',
      });
    }
    throw err;
  }
}
