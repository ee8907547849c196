/**
 * A migration that is not UTF-8 is refused with its file, byte offset and fix (issue 14 #9):
 * decoding it would turn a Latin-1 byte into U+FFFD, so the SQL applied and the checksum would be
 * of another file than the one `psql -f` or Prisma reads. Every reader goes through
 * readMigrationsFolder: the template build, `shipgate migrate deploy` and the smoke.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { describe, expect, test } from '../fixtures/vitest.ts';
import { MigrationError } from '../plugins/core/errors.ts';
import { readMigrationsFolder } from '../plugins/migrate/migrations-dir.ts';
import { childPrefix, dropPrefix } from './child-vitest.ts';

const root = path.resolve(import.meta.dirname, '..');
const SHOP = path.join(root, 'specs', 'smoke', 'fixtures', 'shop', 'migrations');
const cli = path.join(root, 'plugins', 'cli', 'shipgate.ts');

// The shop's migrations plus one whose comment and literal are Latin-1 ("café" as 63 61 66 E9).
const head = mkdtempSync(path.join(tmpdir(), 'shipgate-latin1-'));
afterAll(() => rmSync(head, { recursive: true, force: true }));
cpSync(SHOP, head, { recursive: true });
const bad = path.join(head, '20990101000000_latin1', 'migration.sql');
mkdirSync(path.dirname(bad));
const sql = Buffer.concat([
  Buffer.from("-- a note\nCREATE TABLE notes (body text DEFAULT 'caf", 'utf8'),
  Buffer.from([0xe9]),
  Buffer.from("');\n", 'utf8'),
]);
writeFileSync(bad, sql);
const offset = sql.indexOf(0xe9);

describe('a migration that is not UTF-8', () => {
  test('readMigrationsFolder refuses it with the file, the byte, its offset and line, and the fix', () => {
    const err = (() => {
      try {
        readMigrationsFolder(head);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).code).toBe('SHIPGATE_MIGRATION_NOT_UTF8');
    expect((err as Error).message).toContain(
      `Migration file "${bad}" is not UTF-8: byte 0xe9 at offset ${offset} (line 2)`,
    );
    expect((err as Error).message).toContain('iconv -f latin1 -t utf-8');
    // The same file as UTF-8 reads.
    writeFileSync(bad, sql.toString('latin1'), 'utf8');
    try {
      expect(readMigrationsFolder(head).migrations.at(-1)?.sql).toContain("DEFAULT 'café'");
    } finally {
      writeFileSync(bad, sql);
    }
  });

  test('shipgate migrate deploy and smoke exit non-zero with that message, and leave no database', async ({
    shipgate,
    db,
  }) => {
    const prefix = childPrefix();
    const env = {
      ...process.env,
      CI: 'true',
      NO_COLOR: '1',
      SHIPGATE_PROVIDER: 'external',
      SHIPGATE_DATABASE_URL: shipgate.adminUrl,
      SHIPGATE_DB_PREFIX: prefix,
      SHIPGATE_REPORT_DIR: path.join(head, '.report'),
    };
    const runs = {
      deploy: spawnSync(process.execPath, [cli, 'migrate', 'deploy', '--dir', head, '--url', shipgate.adminUrl], {
        env,
        encoding: 'utf8',
      }),
      smoke: spawnSync(
        process.execPath,
        [cli, 'migrate', 'smoke', '--base', SHOP, '--head', head, '--no-schema', '--no-squawk'],
        { env, encoding: 'utf8' },
      ),
    };
    for (const [name, run] of Object.entries(runs)) {
      const out = run.stdout + run.stderr;
      expect(run.status, `${name}: ${out}`).not.toBe(0);
      expect(out, name).toContain(`is not UTF-8: byte 0xe9 at offset ${offset}`);
      expect(out, name).not.toMatch(/\bSAFE\b/);
    }
    const left = await db.rows('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]);
    expect(left).toEqual([]);
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  });
});
