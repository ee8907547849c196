import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, onTestFinished, test } from 'vitest';
import { createScratchDatabase, listScratchDatabases, withClient } from '../../specs/support/test-db.ts';
import { MigrationError } from '../core/errors.ts';
import { MigrationFailedError } from './migration-failure.ts';
import type { MigrationFileInfo, MigrationFileResult } from './migrator.ts';
import { prismaSqlMigrator } from './prisma-sql.ts';

const FIXTURES = path.join(import.meta.dirname, '__fixtures__');
const BASIC = path.join(FIXTURES, 'basic');
const BASIC_NAMES = ['20240101000000_init', '20240102000000_post_title_index', '20240103000000_views_and_functions'];

// Prisma's DDL for the history table on Postgres, verbatim from prisma/prisma-engines
// schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs (`create_migrations_table`).
// Kept here on purpose instead of importing prisma-history.ts: the test must not trust the code under test.
const PRISMA_DDL = `
CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

const created: string[] = [];
async function scratch() {
  const db = await createScratchDatabase();
  created.push(db.name);
  onTestFinished(() => db.drop());
  return db;
}

/** A temporary migrations folder: `{ "<folder>": "<migration.sql>" }`, or a copy of a fixture. */
function tempMigrations(files: Record<string, string | null>, copyFrom?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-mig-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  if (copyFrom) cpSync(copyFrom, dir, { recursive: true });
  for (const [name, sql] of Object.entries(files)) {
    execFileSync('mkdir', ['-p', path.join(dir, name)]);
    if (sql !== null) writeFileSync(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

async function rows(url: string) {
  return withClient(url, async (c) => {
    const r = await c.query(
      `SELECT id, checksum, migration_name, logs, applied_steps_count,
              started_at, finished_at, rolled_back_at, started_at <= finished_at AS ordered
       FROM _prisma_migrations ORDER BY started_at`,
    );
    return r.rows;
  });
}

async function catchError(p: Promise<unknown>): Promise<MigrationError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MigrationError);
    return e as MigrationError;
  }
  throw new Error('expected the migration to fail');
}

afterAll(async () => {
  const left = await listScratchDatabases();
  expect(left.filter((n) => created.includes(n))).toEqual([]);
});

describe('prisma-sql', { timeout: 30_000 }, () => {
  test('applies the fixture migrations, the schema exists, and a re-run applies nothing', async () => {
    const db = await scratch();
    const migrator = prismaSqlMigrator({ migrationsDir: BASIC });
    const first = await migrator.migrate(db.url);
    expect(first.applied).toEqual(BASIC_NAMES);
    expect(first.durationUs).toBeGreaterThan(0);
    expect(first.warnings).toBeUndefined();

    await withClient(db.url, async (c) => {
      const tables = await c.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(['AuthorPostCount', 'Post', 'User', '_prisma_migrations']);
      const index = await c.query(
        `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'Post_title_idx'`,
      );
      expect(index.rows).toEqual([{ indisvalid: true }]);
      await c.query(`INSERT INTO "User" ("email") VALUES ('a@b.c')`);
      await c.query(`INSERT INTO "Post" ("title", "authorId") VALUES ('  padded  ', 1)`);
      const post = await c.query(`SELECT "title", post_count(1)::int AS n FROM "Post"`);
      expect(post.rows).toEqual([{ title: 'padded', n: 1 }]);
      const motto = await c.query(`SELECT "motto" FROM "User"`);
      expect(motto.rows).toEqual([{ motto: "it's; fine" }]);
    });

    const second = await migrator.migrate(db.url);
    expect(second.applied).toEqual([]);
    expect(await rows(db.url)).toHaveLength(3);
  });

  test('fidelity: _prisma_migrations has Prisma DDL and rows exactly as Prisma writes them', async () => {
    const db = await scratch();
    await prismaSqlMigrator({ migrationsDir: BASIC }).migrate(db.url);

    const columns = (schema: string) =>
      withClient(db.url, async (c) => {
        const r = await c.query(
          `SELECT column_name, ordinal_position, data_type, character_maximum_length, is_nullable, column_default
           FROM information_schema.columns WHERE table_schema = $1 AND table_name = '_prisma_migrations'
           ORDER BY ordinal_position`,
          [schema],
        );
        const pk = await c.query(
          `SELECT tc.constraint_name, kcu.column_name FROM information_schema.table_constraints tc
           JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name)
           WHERE tc.table_schema = $1 AND tc.table_name = '_prisma_migrations' AND tc.constraint_type = 'PRIMARY KEY'`,
          [schema],
        );
        return { columns: r.rows, pk: pk.rows };
      });
    // The reference: Prisma's own DDL, executed by Postgres in a side schema of the same database.
    await withClient(db.url, async (c) => {
      await c.query('CREATE SCHEMA prisma_ref; SET search_path = prisma_ref');
      await c.query(PRISMA_DDL);
    });
    const ours = await columns('public');
    expect(ours).toEqual(await columns('prisma_ref'));
    expect(ours.columns.map((c) => [c.column_name, c.data_type, c.character_maximum_length, c.is_nullable])).toEqual([
      ['id', 'character varying', 36, 'NO'],
      ['checksum', 'character varying', 64, 'NO'],
      ['finished_at', 'timestamp with time zone', null, 'YES'],
      ['migration_name', 'character varying', 255, 'NO'],
      ['logs', 'text', null, 'YES'],
      ['rolled_back_at', 'timestamp with time zone', null, 'YES'],
      ['started_at', 'timestamp with time zone', null, 'NO'],
      ['applied_steps_count', 'integer', null, 'NO'],
    ]);
    expect(ours.pk).toEqual([{ constraint_name: '_prisma_migrations_pkey', column_name: 'id' }]);

    const history = await rows(db.url);
    expect(history.map((r) => r.migration_name)).toEqual(BASIC_NAMES);
    for (const row of history) {
      const file = path.join(BASIC, row.migration_name, 'migration.sql');
      // Prisma: sha256 of the script as read (UTF-8), i.e. of the file's raw bytes; computed here by coreutils.
      const sha256sum = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
      expect(row.checksum).toBe(sha256sum);
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.ordered).toBe(true);
      expect(row.finished_at).toBeInstanceOf(Date);
      // One script = one step: record_successful_step runs once, after the whole script.
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
      expect(row.rolled_back_at).toBeNull();
    }
  });

  test('CREATE INDEX CONCURRENTLY in a multi-statement file fails with Postgres 25001, like Prisma', async () => {
    const db = await scratch();
    const file = path.join(FIXTURES, 'concurrently-in-multi', '20240101000000_table_and_index', 'migration.sql');
    const err = await catchError(
      prismaSqlMigrator({ migrationsDir: path.join(FIXTURES, 'concurrently-in-multi') }).migrate(db.url),
    );
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err.code).toBe('SHIPGATE_MIGRATION_FAILED');
    expect(err.message).toContain('25001');
    expect(err.message).toContain('CREATE INDEX CONCURRENTLY cannot run inside a transaction block');
    expect(err.message).toContain(`${path.relative(process.cwd(), file)}:4 (statement 2 of 2`);
    expect(err.message).toContain('CREATE INDEX CONCURRENTLY "Item_sku_idx" ON "Item"("sku")');
    // The implicit transaction took the CREATE TABLE down with it.
    const item = await withClient(db.url, (c) => c.query(`SELECT to_regclass('"Item"') AS t`));
    expect(item.rows[0].t).toBeNull();
  });

  test('runtime error in statement 2 of 3: names file, statement and error; row left failed; next run refuses (P3009)', async () => {
    const db = await scratch();
    const dir = path.join(FIXTURES, 'runtime-error');
    const migrator = prismaSqlMigrator({ migrationsDir: dir });
    const err = (await catchError(migrator.migrate(db.url))) as MigrationFailedError;
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err.migration).toBe('20240102000000_backfill');
    expect(err.location).toMatchObject({ found: true, how: 'replay', of: 3, statement: { index: 1, line: 4 } });
    expect(err.postgres).toMatchObject({ code: '23502', position: undefined });
    expect(err.message).toContain('Migration "20240102000000_backfill" failed at');
    expect(err.message).toContain('20240102000000_backfill/migration.sql:4 (statement 2 of 3');
    expect(err.message).toContain('ALTER TABLE "Account"\n      ALTER COLUMN "name" SET NOT NULL');
    expect(err.message).toContain('Postgres error 23502: column "name" of relation "Account" contains null values');
    expect(err.cause).toMatchObject({ code: '23502' });

    const history = await rows(db.url);
    expect(history.map((r) => [r.migration_name, r.finished_at === null, r.applied_steps_count])).toEqual([
      ['20240101000000_init', false, 1],
      ['20240102000000_backfill', true, 0],
    ]);
    const failed = history[1];
    expect(failed.rolled_back_at).toBeNull();
    expect(failed.logs).toMatch(/^A migration failed to apply\. New migrations cannot be applied/);
    expect(failed.logs).toContain(
      'Migration name: 20240102000000_backfill\n\nDatabase error code: 23502\n\nDatabase error:\nERROR: column',
    );
    expect(failed.logs).toContain('DbError { severity: "ERROR", parsed_severity: Some(Error), code: SqlState(E23502)');
    // Statement 1 ran inside the implicit transaction and was rolled back with it; the replay left nothing either.
    const log = await withClient(db.url, (c) => c.query(`SELECT to_regclass('"AccountLog"') AS t`));
    expect(log.rows[0].t).toBeNull();

    const blocked = await catchError(migrator.migrate(db.url));
    expect(blocked.code).toBe('SHIPGATE_MIGRATION_BLOCKED');
    expect(blocked.message).toContain('"20240102000000_backfill"');
    expect(blocked.message).toContain('P3009');
    expect(blocked.message).toContain('migrate found failed migrations in the target database');
    expect(blocked.message).toMatch(
      /The `20240102000000_backfill` migration started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? UTC failed/,
    );
    expect(blocked.message).toContain('prisma migrate resolve --rolled-back 20240102000000_backfill');
  });

  test("syntax error: the statement comes from Postgres' error position and nothing in the file ran", async () => {
    const db = await scratch();
    const migrator = prismaSqlMigrator({ migrationsDir: path.join(FIXTURES, 'syntax-error') });
    const err = (await catchError(migrator.migrate(db.url))) as MigrationFailedError;
    expect(err.location).toMatchObject({
      found: true,
      how: 'position',
      of: 3,
      errorLine: 9,
      statement: { index: 2, line: 6 },
    });
    expect(err.message).toContain('20240101000000_typo/migration.sql:6 (statement 3 of 3, error at line 9');
    expect(err.message).toContain('CREATE TABLE "TagOnPost" (');
    expect(err.message).toContain('Postgres error 42601: syntax error at or near "("');
    const [row] = await rows(db.url);
    expect(row.finished_at).toBeNull();
    // Prisma's "Position:" excerpt, ANSI codes and all: line 9 in bold red, lines 4-8 before it.
    expect(row.logs).toContain('\n\nPosition:\n\x1b[1m  4\x1b[0m\n\x1b[1m  5\x1b[0m -- The typo below');
    expect(row.logs).toContain('\x1b[1m  9\x1b[1;31m     PRIMARY KEY ("tagId", "postId")\x1b[0m');
    const tag = await withClient(db.url, (c) => c.query(`SELECT to_regclass('"Tag"') AS t`));
    expect(tag.rows[0].t).toBeNull();
    expect((await catchError(migrator.migrate(db.url))).code).toBe('SHIPGATE_MIGRATION_BLOCKED');
  });

  test('no replay when a file has its own transaction control (it may have committed part of itself)', async () => {
    const db = await scratch();
    const dir = tempMigrations({
      '20240101000000_tx': 'BEGIN;\nCREATE TABLE t (x int NOT NULL);\nCOMMIT;\nINSERT INTO t VALUES (NULL);\n',
    });
    const err = (await catchError(prismaSqlMigrator({ migrationsDir: dir }).migrate(db.url))) as MigrationFailedError;
    expect(err.location).toEqual({
      found: false,
      of: 4,
      why: 'not replayed, because the file has transaction control at line 1 (BEGIN)',
    });
    expect(err.message).toContain('(4 statements; failing statement unknown: not replayed, because');
    expect(err.message).toContain('Postgres error 23502');
    // What Prisma would leave too: the COMMIT inside the file made the table permanent.
    const t = await withClient(db.url, (c) => c.query("SELECT to_regclass('t')::text AS t"));
    expect(t.rows[0].t).toBe('t');
  });

  test('a single-statement file needs no replay', async () => {
    const db = await scratch();
    const dir = tempMigrations({ '20240101000000_one': '-- just one\nSELECT 1 / 0;\n' });
    const err = (await catchError(prismaSqlMigrator({ migrationsDir: dir }).migrate(db.url))) as MigrationFailedError;
    expect(err.location).toMatchObject({
      found: true,
      how: 'single',
      of: 1,
      statement: { line: 2, text: 'SELECT 1 / 0' },
    });
    expect(err.message).toContain('Postgres error 22012: division by zero');
  });

  test('missing migrations folder: names the absolute path and the fix, from migrate() and hash()', async () => {
    const missing = path.join(tmpdir(), 'shipgate-no-such-migrations');
    const migrator = prismaSqlMigrator({ migrationsDir: missing });
    for (const err of [await catchError(migrator.migrate('postgres://unused/db')), await catchError(migrator.hash())]) {
      expect(err.code).toBe('SHIPGATE_MIGRATIONS_DIR_MISSING');
      expect(err.message).toContain(`"${missing}" does not exist`);
      expect(err.message).toContain('migrator.migrationsDir');
      expect(err.message).toContain('SHIPGATE_MIGRATIONS_DIR');
      expect(err.cause).toMatchObject({ code: 'ENOENT' });
    }
  });

  test('advisory lock: two concurrent runs (one file is CREATE INDEX CONCURRENTLY) apply each migration exactly once', async () => {
    const db = await scratch();
    const dir = tempMigrations({ '20240104000000_slow': 'CREATE TABLE a (x int);\nSELECT pg_sleep(0.3);' }, BASIC);
    let checked = 0;
    const onFileStart = async (info: MigrationFileInfo) => {
      // Whoever runs files holds Prisma's lock while the other run's session is connected and waiting.
      const look = () =>
        withClient(db.url, async (c) => {
          const r = await c.query(
            `SELECT (SELECT array_agg(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 72707369 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS holders,
                    (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'shipgate:migrate') AS sessions`,
          );
          return r.rows[0];
        });
      let seen = await look();
      for (let i = 0; i < 100 && seen.sessions < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = await look();
      }
      expect(seen).toEqual({ holders: [info.pid], sessions: 2 });
      checked++;
    };
    const [a, b] = await Promise.all([
      prismaSqlMigrator({ migrationsDir: dir }).migrate(db.url, { onFileStart }),
      prismaSqlMigrator({ migrationsDir: dir }).migrate(db.url, { onFileStart }),
    ]);
    expect(checked).toBe(4);
    expect([...a.applied, ...b.applied]).toEqual([...BASIC_NAMES, '20240104000000_slow']);
    expect(Math.min(a.applied.length, b.applied.length)).toBe(0);
    const history = await rows(db.url);
    expect(history.map((r) => r.migration_name)).toEqual([...BASIC_NAMES, '20240104000000_slow']);
  });

  test('waits at most lockTimeoutMs for a lock held elsewhere, and says who holds it', async () => {
    const db = await scratch();
    await withClient(db.url, async (holder) => {
      const { rows: pid } = await holder.query('SELECT pg_backend_pid() AS pid, pg_advisory_lock(72707369)');
      const err = await catchError(prismaSqlMigrator({ migrationsDir: BASIC, lockTimeoutMs: 300 }).migrate(db.url));
      expect(err.code).toBe('SHIPGATE_MIGRATION_LOCK_TIMEOUT');
      expect(err.message).toContain('Timed out after 300 ms');
      expect(err.message).toContain(`held by backend pid ${pid[0].pid}`);
    });
    // The failed wait left no SET behind: the next run migrates normally.
    expect((await prismaSqlMigrator({ migrationsDir: BASIC }).migrate(db.url)).applied).toEqual(BASIC_NAMES);
  });

  test('per-file hooks get name, path, sql, index, pid, duration and error', async () => {
    const db = await scratch();
    const dir = path.join(FIXTURES, 'runtime-error');
    const starts: MigrationFileInfo[] = [];
    const ends: MigrationFileResult[] = [];
    await catchError(
      prismaSqlMigrator({ migrationsDir: dir }).migrate(db.url, {
        onFileStart: (i) => {
          starts.push(i);
        },
        onFileEnd: (i) => {
          ends.push(i);
        },
      }),
    );
    expect(starts.map((s) => [s.name, s.index])).toEqual([
      ['20240101000000_init', 0],
      ['20240102000000_backfill', 1],
    ]);
    const file = path.join(dir, '20240102000000_backfill', 'migration.sql');
    expect(starts[1]).toMatchObject({ path: file, sql: readFileSync(file, 'utf8') });
    expect(starts[0]?.pid).toBeTypeOf('number');
    expect(ends[0]?.error).toBeUndefined();
    expect(ends[0]?.durationUs).toBeGreaterThan(0);
    expect(ends[1]?.error).toMatchObject({ code: '23502' });
  });

  test('checksums: CRLF files hash like Prisma, line endings alone are no edit, real edits warn', async () => {
    const db = await scratch();
    const crlf = 'CREATE TABLE t (\r\n  id int\r\n);\r\n';
    const dir = tempMigrations({ '20240101000000_crlf': crlf });
    const file = path.join(dir, '20240101000000_crlf', 'migration.sql');
    const migrator = prismaSqlMigrator({ migrationsDir: dir });
    const hashCrlf = await migrator.hash();
    await migrator.migrate(db.url);
    const [row] = await rows(db.url);
    expect(row.checksum).toBe(execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]);

    writeFileSync(file, crlf.replace(/\r\n/g, '\n'));
    expect(await migrator.hash()).toBe(hashCrlf);
    expect((await migrator.migrate(db.url)).warnings).toBeUndefined();

    writeFileSync(file, 'CREATE TABLE t (id bigint);\n');
    expect(await migrator.hash()).not.toBe(hashCrlf);
    const edited = await migrator.migrate(db.url);
    expect(edited.applied).toEqual([]);
    expect(edited.warnings).toEqual([
      expect.stringContaining('"20240101000000_crlf" was modified after it was applied'),
    ]);

    rmSync(path.join(dir, '20240101000000_crlf'), { recursive: true });
    const gone = await migrator.migrate(db.url);
    expect(gone.warnings).toEqual([expect.stringContaining('"20240101000000_crlf" is recorded as applied')]);
  });

  test("a folder without migration.sql is not skipped: Prisma's P3015 when it is reached", async () => {
    const db = await scratch();
    const dir = tempMigrations({ '20240101000000_ok': 'CREATE TABLE a (x int);', '20240102000000_empty': null });
    const err = await catchError(prismaSqlMigrator({ migrationsDir: dir }).migrate(db.url));
    expect(err.code).toBe('SHIPGATE_MIGRATION_FILE_MISSING');
    expect(err.message).toContain('"20240102000000_empty" has no readable migration.sql');
    expect((await rows(db.url)).map((r) => r.migration_name)).toEqual(['20240101000000_ok']);
  });

  test('a non-empty schema without history is refused like P3005; ?schema= migrates into that schema', async () => {
    const db = await scratch();
    await withClient(db.url, (c) => c.query('CREATE TABLE legacy (x int)'));
    const err = await catchError(prismaSqlMigrator({ migrationsDir: BASIC }).migrate(db.url));
    expect(err.code).toBe('SHIPGATE_SCHEMA_NOT_EMPTY');
    expect(err.message).toContain('tables: legacy');

    const url = `${db.url}?schema=app`;
    expect((await prismaSqlMigrator({ migrationsDir: BASIC }).migrate(url)).applied).toEqual(BASIC_NAMES);
    const where = await withClient(db.url, (c) =>
      c.query(
        "SELECT table_schema, count(*)::int AS n FROM information_schema.tables WHERE table_schema IN ('public', 'app') GROUP BY 1 ORDER BY 1",
      ),
    );
    expect(where.rows).toEqual([
      { table_schema: 'app', n: 4 },
      { table_schema: 'public', n: 1 },
    ]);
  });

  test('abort: before the run, and while a file runs (the query is cancelled)', async () => {
    const db = await scratch();
    const migrator = prismaSqlMigrator({
      migrationsDir: tempMigrations({ '20240101000000_slow': 'SELECT pg_sleep(20)' }),
    });
    const before = await catchError(migrator.migrate(db.url, { signal: AbortSignal.abort() }));
    expect(before.code).toBe('SHIPGATE_MIGRATION_ABORTED');

    const t0 = performance.now();
    const during = await catchError(migrator.migrate(db.url, { signal: AbortSignal.timeout(300) }));
    expect(during.code).toBe('SHIPGATE_MIGRATION_ABORTED');
    expect(during.cause).toMatchObject({ code: '57014' });
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  test('hash: stable, sensitive to names and contents, not to the folder location', async () => {
    const a = await prismaSqlMigrator({ migrationsDir: BASIC }).hash();
    const copy = tempMigrations({}, BASIC);
    expect(await prismaSqlMigrator({ migrationsDir: copy }).hash()).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(path.join(copy, '20240101000000_init', 'migration.sql'), '-- changed\n', { flag: 'a' });
    expect(await prismaSqlMigrator({ migrationsDir: copy }).hash()).not.toBe(a);
  });
});
