import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, onTestFinished, test, vi } from 'vitest';
import { resolveOptions } from '../plugins/core/config.ts';
import { ConfigError, MigrationError } from '../plugins/core/errors.ts';
import { readMigrationsFolder } from '../plugins/migrate/migrations-dir.ts';

/**
 * A migrations folder with no migrations builds an empty template: almost always a wrong path.
 * It is a warning (once per folder, on stderr, with the setting that fixes it); a folder that
 * does not exist stays an error (issue 14 #11).
 */

function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-empty-migrations-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function stderrLines(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an empty migrations folder', () => {
  test('warns once, naming the folder and migrator.migrationsDir / SHIPGATE_MIGRATIONS_DIR', () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
    const lines = stderrLines();
    expect(readMigrationsFolder(dir).migrations).toEqual([]);
    expect(readMigrationsFolder(dir).migrations).toEqual([]);
    const warnings = lines.filter((l) => l.includes('holds no migrations'));
    expect(warnings).toEqual([
      `shipgate: warning: migrations folder "${dir}" holds no migrations (no <timestamp>_<name>/ folder), so the database is built empty. If that is not intended, point config key migrator.migrationsDir (or env SHIPGATE_MIGRATIONS_DIR; --dir / --head on the CLI) at the folder with your migrations.\n`,
    ]);
  });

  test('says so when the .sql files lie flat in it instead of in Prisma folders', () => {
    const dir = scratch();
    writeFileSync(path.join(dir, '001_init.sql'), 'CREATE TABLE t (id int);\n');
    writeFileSync(path.join(dir, '002_more.sql'), 'ALTER TABLE t ADD COLUMN x int;\n');
    const lines = stderrLines();
    readMigrationsFolder(dir);
    expect(lines.join('')).toContain(
      "It has 2 .sql file(s) directly in it; Prisma's layout is <timestamp>_<name>/migration.sql.",
    );
  });

  test('a folder with migrations says nothing', () => {
    const dir = scratch();
    mkdirSync(path.join(dir, '20250101000000_init'));
    writeFileSync(path.join(dir, '20250101000000_init', 'migration.sql'), 'CREATE TABLE t (id int);\n');
    const lines = stderrLines();
    expect(readMigrationsFolder(dir).migrations.map((m) => m.name)).toEqual(['20250101000000_init']);
    expect(lines.filter((l) => l.includes('holds no migrations'))).toEqual([]);
  });

  test('a folder that does not exist is still an error, in the reader and in the config', () => {
    const missing = path.join(scratch(), 'nope');
    expect(() => readMigrationsFolder(missing)).toThrow(MigrationError);
    expect(() => readMigrationsFolder(missing)).toThrow(`Migrations folder "${missing}" does not exist.`);
    expect(() =>
      resolveOptions({ migrator: { kind: 'prisma-sql', migrationsDir: missing } }, path.dirname(missing), {}),
    ).toThrow(ConfigError);
  });
});
