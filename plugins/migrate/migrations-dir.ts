/**
 * Reads a Prisma migrations folder the way Prisma 7's CLI does (`listMigrations` in
 * prisma/prisma packages/migrate, bundled as `Bl()` in prisma@7.10.1 build/cli.js): every
 * directory entry that is a directory (a symlink is not), sorted with `localeCompare`, with
 * `migration.sql` read as UTF-8. A folder without migration.sql is NOT skipped: Prisma lists it
 * and fails with P3015 when it reaches it (unless it is already applied); so do we.
 */
import { createHash } from 'node:crypto';
import { type Dirent, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { MigrationError } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';

/** One migration folder. */
export interface MigrationFolder {
  /** Folder name, which Prisma stores as `migration_name`. */
  name: string;
  /** Absolute path of its migration.sql. */
  path: string;
  /** The script as Prisma reads it (UTF-8 string), or undefined when migration.sql is missing. */
  sql: string | undefined;
  /** Why it could not be read, when `sql` is undefined. */
  readError?: string;
}

/** The whole folder: migrations in Prisma's order and migration_lock.toml, if any. */
export interface MigrationsFolder {
  dir: string;
  migrations: MigrationFolder[];
  lockfile: string | undefined;
}

/** Default migrations folder; `SHIPGATE_MIGRATIONS_DIR` overrides it. */
export const DEFAULT_MIGRATIONS_DIR = 'prisma/migrations';

/**
 * Resolves the migrations folder: the explicit option, else `SHIPGATE_MIGRATIONS_DIR`, else
 * `migrations/` beside the Prisma schema (Prisma's own rule), else `prisma/migrations`; relative
 * paths against `cwd`. (plugins/core/config.ts lets the env var override config before it gets here.)
 */
export function resolveMigrationsDir(
  options: { migrationsDir?: string | undefined; schemaPath?: string | undefined; cwd?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): string {
  const cwd = options.cwd ?? process.cwd();
  if (options.migrationsDir) return path.resolve(cwd, options.migrationsDir);
  const fromEnv = envValue('SHIPGATE_MIGRATIONS_DIR', env);
  if (fromEnv) return path.resolve(cwd, fromEnv);
  if (options.schemaPath) {
    const schema = path.resolve(cwd, options.schemaPath);
    const root = existsSync(schema) && statSync(schema).isDirectory() ? schema : path.dirname(schema);
    return path.join(root, 'migrations');
  }
  return path.resolve(cwd, DEFAULT_MIGRATIONS_DIR);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The offset of the first byte that does not start or continue a UTF-8 sequence (-1: none). */
function firstBadByte(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * A migration file's text. A file that is not UTF-8 is refused: decoding it would swap bytes for
 * U+FFFD, so the SQL applied, its checksum and the smoke's verdict would all be of another file
 * than the one `psql -f` or Prisma reads.
 */
function decodeUtf8(bytes: Buffer, file: string): string {
  try {
    return UTF8.decode(bytes);
  } catch (cause) {
    const at = Math.max(0, firstBadByte(bytes));
    const line = bytes.subarray(0, at).toString('latin1').split('\n').length;
    const byte = bytes[at];
    throw new MigrationError(
      'SHIPGATE_MIGRATION_NOT_UTF8',
      `Migration file "${file}" is not UTF-8: byte 0x${(byte ?? 0).toString(16).padStart(2, '0')} at offset ${at} (line ${line}) starts no valid UTF-8 sequence.`,
      {
        cause,
        hint: `Re-save the file as UTF-8 (for Latin-1: \`iconv -f latin1 -t utf-8 "${file}" -o "${file}.utf8" && mv "${file}.utf8" "${file}"\`); Postgres and Prisma read migrations as UTF-8.`,
      },
    );
  }
}

/** Lists the migrations folder; a missing folder is a `SHIPGATE_MIGRATIONS_DIR_MISSING` error. */
export function readMigrationsFolder(dir: string): MigrationsFolder {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const observed =
      code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code})`;
    throw new MigrationError('SHIPGATE_MIGRATIONS_DIR_MISSING', `Migrations folder "${dir}" ${observed}.`, {
      cause,
      hint: 'Point config key `migrator.migrationsDir` (or env SHIPGATE_MIGRATIONS_DIR) at the folder that holds the `<timestamp>_<name>/migration.sql` folders.',
    });
  }
  let lockfile: string | undefined;
  try {
    lockfile = readFileSync(path.join(dir, 'migration_lock.toml'), 'utf8');
  } catch {
    lockfile = undefined;
  }
  const migrations = entries
    .filter((e) => e.isDirectory())
    .map((e): MigrationFolder => {
      const file = path.join(dir, e.name, 'migration.sql');
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (cause) {
        return { name: e.name, path: file, sql: undefined, readError: (cause as Error).message };
      }
      return { name: e.name, path: file, sql: decodeUtf8(bytes, file) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  if (migrations.length === 0) warnEmpty(dir, entries);
  return { dir, migrations, lockfile };
}

const warnedEmpty = new Set<string>();

/**
 * An empty folder builds an empty database without an error, which is almost always a wrong
 * path: say so once per folder and process, on stderr, with the setting that fixes it.
 */
function warnEmpty(dir: string, entries: readonly Dirent[]): void {
  if (warnedEmpty.has(dir)) return;
  warnedEmpty.add(dir);
  const flat = entries.filter((e) => e.isFile() && e.name.endsWith('.sql')).length;
  const layout = flat
    ? ` It has ${flat} .sql file(s) directly in it; Prisma's layout is <timestamp>_<name>/migration.sql.`
    : '';
  process.stderr.write(
    `shipgate: warning: migrations folder "${dir}" holds no migrations (no <timestamp>_<name>/ folder), so the database is built empty.${layout} If that is not intended, point config key migrator.migrationsDir (or env SHIPGATE_MIGRATIONS_DIR; --dir / --head on the CLI) at the folder with your migrations.\n`,
  );
}

/**
 * The provider named in migration_lock.toml, read like Prisma's `read_provider_from_lock_file`
 * (schema-engine/connectors/schema-connector/src/migrations_directory.rs); undefined without a lockfile.
 */
export function lockfileProvider(lockfile: string | undefined): string | undefined {
  if (lockfile === undefined) return undefined;
  const line = lockfile.split(/\r?\n/).find((l) => l.startsWith('provider'));
  return line === undefined ? '<PROVIDER NOT FOUND>' : line.replace(/^(provider = )+/, '').replace(/^"+|"+$/g, '');
}

/**
 * Digest of a migrations folder for template naming: migrator name, settings, and every folder's
 * name and script with CRLF normalised to LF (a checkout's line endings alone must not rebuild the
 * template). Length-prefixed fields keep `a`+`bc` and `ab`+`c` apart.
 */
export function hashMigrations(migrator: string, settings: Record<string, unknown>, folder: MigrationsFolder): string {
  const h = createHash('sha256');
  const field = (value: string) => h.update(`${Buffer.byteLength(value)}:${value}\n`);
  field(migrator);
  field(JSON.stringify(settings));
  for (const m of folder.migrations) {
    field(m.name);
    field(m.sql === undefined ? '<missing migration.sql>' : m.sql.replace(/\r\n/g, '\n'));
  }
  return h.digest('hex');
}
