import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../fixtures/vitest.ts';
import { checkModuleRefs, loadModuleFunction, resolveOptions } from '../plugins/core/config.ts';
import { ConfigError, DatabaseError, MigrationError, NoProviderError } from '../plugins/core/errors.ts';
import { startPostgres } from '../plugins/postgres/index.ts';
import { readServerInfo } from '../plugins/postgres/server-info.ts';
import { startSession } from '../plugins/session.ts';
import { childPrefix, dropPrefix, runChild, runChildVitest } from './child-vitest.ts';

const root = path.resolve(import.meta.dirname, '..');
const quiet = () => {};

describe('bad input gets a clear error and leaves nothing behind', () => {
  test('an unreachable database URL names the (redacted) URL, the cause and the fix', async () => {
    const url = 'postgres://app:s3cret@127.0.0.1:1/postgres';
    const err = await readServerInfo(url, 2_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    const msg = (err as Error).message;
    expect(msg).toContain('postgres://app:***@127.0.0.1:1/postgres');
    expect(msg).not.toContain('s3cret');
    expect(msg).toMatch(/ECONNREFUSED/);
    expect(msg).toContain('SHIPGATE_DATABASE_URL');

    const viaProvider = await startPostgres({ provider: 'external', adminUrl: url, log: quiet }).catch(
      (e: unknown) => e,
    );
    expect(viaProvider).toBeInstanceOf(NoProviderError);
    expect((viaProvider as Error).message).toMatch(
      /"external" was chosen by config .* not available: Cannot connect to Postgres at "postgres:\/\/app:\*\*\*@127\.0\.0\.1:1/,
    );
  });

  test('Docker forced but absent: the error says why and how to fix it', async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///nonexistent/shipgate-docker.sock';
    try {
      const err = await startPostgres({ provider: 'testcontainers', log: quiet }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoProviderError);
      const msg = (err as Error).message;
      expect(msg).toContain('"testcontainers" was chosen by config "postgres.provider" but is not available');
      expect(msg).toMatch(/docker/i);
      expect(msg).toContain('postgres.provider');
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  test('an unknown SHIPGATE_PROVIDER is rejected with the valid choices', async () => {
    const saved = process.env.SHIPGATE_PROVIDER;
    process.env.SHIPGATE_PROVIDER = 'sqlite';
    try {
      await expect(startPostgres({ log: quiet })).rejects.toThrow(
        'Unknown Postgres provider "sqlite" from SHIPGATE_PROVIDER. Use one of: auto, testcontainers, embedded, external.',
      );
    } finally {
      if (saved === undefined) delete process.env.SHIPGATE_PROVIDER;
      else process.env.SHIPGATE_PROVIDER = saved;
    }
  });

  test('a missing migrations folder and other config problems are reported together', () => {
    const err = (() => {
      try {
        resolveOptions(
          {
            migrator: { kind: 'prisma-sql', migrationsDir: 'no/such/migrations' },
            isolation: 'nope' as 'file',
            poolSize: 0,
          },
          root,
          {},
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems).toContain('isolation is "nope"; expected one of file, test, rollback');
    expect(problems).toContain('poolSize is 0; expected an integer from 1 to 100');
    expect(problems).toContain(
      `migrator.migrationsDir "${path.join(root, 'no/such/migrations')}" does not exist (set migrator.migrationsDir or SHIPGATE_MIGRATIONS_DIR)`,
    );
  });

  test('unknown config keys and wrong types: each named, with "did you mean", before anything starts', () => {
    const problems = (() => {
      try {
        resolveOptions(
          // biome-ignore lint/suspicious/noExplicitAny: a config as a .js user writes it
          { isolaton: 'test', postgress: {}, postgres: { provder: 'embedded', tmpfs: 'no' } } as any,
          root,
          {},
        );
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^isolaton is an unknown key; did you mean isolation\? \(known: postgres, migrator, /),
        expect.stringMatching(/^postgress is an unknown key; did you mean postgres\?/),
        expect.stringMatching(/^postgres\.provder is an unknown key; did you mean postgres\.provider\?/),
        'postgres.tmpfs is "no" (string); expected a boolean',
      ]),
    );
  });

  test('query settings: every bad value named with the fix, all at once; the check defaults to CI', () => {
    const base = { migrator: { kind: 'prisma-sql' as const, migrationsDir: 'example/prisma/migrations' } };
    const problems = (() => {
      try {
        resolveOptions(
          // biome-ignore lint/suspicious/noExplicitAny: a config as a .js user writes it
          { ...base, queries: { captur: false, check: 'sometimes', allow: ['/[unclosed/', 3] } } as any,
          root,
          { SHIPGATE_QUERY_CAPTURE: 'maybe' },
        );
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(problems).toEqual([
      expect.stringMatching(
        /^queries\.captur is an unknown key; did you mean queries\.capture\? \(known: capture, check, allow\)$/,
      ),
      'SHIPGATE_QUERY_CAPTURE is "maybe"; expected 1 or 0 (on/off)',
      'queries.check is "sometimes"; expected on, off or ci',
      'queries.allow is ["/[unclosed/",3]; expected an array of shape substrings or "/re/flags" strings',
    ]);
    const offButChecked = (() => {
      try {
        resolveOptions(base, root, { SHIPGATE_QUERY_CAPTURE: '0', SHIPGATE_QUERY_CHECK: 'on' });
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(offButChecked).toEqual([
      'SHIPGATE_QUERY_CHECK turns the query check on, but SHIPGATE_QUERY_CAPTURE turns capture off; the check needs capture',
    ]);
    expect(resolveOptions(base, root, {}).queries).toEqual({ capture: true, check: false, allow: [] });
    // Capture off (the budget phase's config): the CI default means no check, not an error.
    expect(resolveOptions({ ...base, queries: { capture: false } }, root, { CI: 'true' }).queries).toEqual({
      capture: false,
      check: false,
      allow: [],
    });
    expect(resolveOptions(base, root, { CI: 'true' }).queries.check).toBe(true);
    expect(resolveOptions(base, root, { CI: 'true', SHIPGATE_QUERY_CHECK: 'off' }).queries.check).toBe(false);
    const badRe = (() => {
      try {
        resolveOptions({ ...base, queries: { allow: ['FROM "audit"', '/re(g/i'] } }, root, {});
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(badRe).toEqual([
      expect.stringMatching(/^queries\.allow entry "\/re\(g\/i" is not a valid regular expression \(/),
    ]);
  });

  test('a typo in vitest.config.ts fails the run with every problem, and starts no server', async () => {
    const run = await runChild(['run', '--config', 'specs/fixtures-vitest/typo.config.ts'], {});
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain('isolaton is an unknown key; did you mean isolation?');
    expect(run.output).toContain('postgres.tmpfs is "yes" (string); expected a boolean');
    expect(run.output).toContain('migrator.migrationDir is an unknown key; did you mean migrator.migrationsDir?');
    expect(run.output).not.toMatch(/starting Postgres/);
    // Printed as its message, not as an object dump with stack frames (issue 14 #11).
    expect(run.output).toContain('ConfigError [SHIPGATE_CONFIG]: Invalid shipgate configuration (3 problems):');
    expect(run.output).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(run.output).not.toContain("code: 'SHIPGATE_CONFIG'");
    expect(run.output).not.toContain('problems: [');
  });

  test('a ConfigError reaching the CLI prints its message and every problem, without a stack, and exits 1', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'shipgate-cli-config-'));
    onTestFinished(() => rmSync(cwd, { recursive: true, force: true }));
    const run = spawnSync(process.execPath, [path.join(root, 'plugins', 'cli', 'shipgate.ts'), 'test'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, SHIPGATE_PHASES: 'unit,lint', SHIPGATE_REPORT_DIR: path.join(cwd, 'report') },
    });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toBe(
      'shipgate test: ConfigError [SHIPGATE_CONFIG]: Invalid shipgate configuration (1 problem):\n  - SHIPGATE_PHASES has unknown phase(s) "lint"; expected a comma-separated list of unit, budgets, e2e\n',
    );
  });

  test('a missing prisma/app/seed export is found before any server starts: the key, the file, the export and the exports it has', async () => {
    const refs = path.join(root, 'specs', 'fixtures-vitest', 'module-refs.ts');
    const base = { migrator: { kind: 'prisma-sql' as const, migrationsDir: 'example/prisma/migrations' } };
    // resolveOptions only sees that the file exists; the exports need the module loaded.
    const options = resolveOptions(
      { ...base, prisma: `${refs}#createPrima`, app: `${refs}#notAFunction`, seed: `${refs}#createApp` },
      root,
      {},
    );
    const err = await checkModuleRefs(options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      `prisma "${refs}#createPrima": module "${refs}" has no export "createPrima", expected a function (its function exports: createApp, createPrisma); did you mean "#createPrisma"? (fix config key prisma)`,
      `app "${refs}#notAFunction": module "${refs}" exports "notAFunction" as a number, expected a function (its function exports: createApp, createPrisma) (fix config key app)`,
    ]);
    await expect(checkModuleRefs(resolveOptions({ ...base, prisma: `${refs}#createPrisma` }, root, {}))).resolves.toBe(
      undefined,
    );
    // The loader the fixtures use says the same when the check was skipped.
    await expect(loadModuleFunction(`${refs}#createPrima`, root, 'prisma')).rejects.toThrow(
      `has no export "createPrima", expected a function (its function exports: createApp, createPrisma); did you mean "#createPrisma"? (fix config key prisma)`,
    );
  });

  test('bad SHIPGATE_* values are config problems before any server starts, all at once', () => {
    const problems = (() => {
      try {
        resolveOptions({ migrator: { kind: 'prisma-sql', migrationsDir: 'example/prisma/migrations' } }, root, {
          SHIPGATE_PROVIDER: 'embeded',
          SHIPGATE_DATABASE_URL: 'http://app:s3cret-pw@db:5432/app',
          SHIPGATE_DB_PREFIX: 'Bad-Prefix',
          SHIPGATE_PG_MAX_CONNECTIONS: 'abc',
          SHIPGATE_SHARD: '3/2',
          SHIPGATE_KEEP_ON_FAILURE: 'maybe',
        });
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(problems).toEqual([
      'SHIPGATE_PROVIDER is "embeded"; expected one of auto, testcontainers, embedded, external (did you mean embedded?)',
      'SHIPGATE_DATABASE_URL "http://app:***@db:5432/app" has protocol "http:"; expected postgres: or postgresql: (postgres://user:password@host:5432/postgres)',
      'SHIPGATE_DB_PREFIX is "Bad-Prefix"; expected a lowercase letter and up to 15 lowercase letters or digits ([a-z][a-z0-9]{0,15})',
      'SHIPGATE_PG_MAX_CONNECTIONS is "abc"; expected a whole number from 10 to 10000',
      'SHIPGATE_SHARD is "3/2"; expected i/n with 1 <= i <= n, e.g. 2/4 (this process\'s CI shard)',
      'SHIPGATE_KEEP_ON_FAILURE is "maybe"; expected 1 or 0 (also true/false, yes/no, on/off)',
    ]);
  });

  test('a failing migration names the file, the statement and the Postgres error; no database is left', async ({
    shipgate,
    db,
  }) => {
    const prefix = childPrefix();
    const options = resolveOptions(
      {
        postgres: { provider: 'external', adminUrl: shipgate.adminUrl, prefix },
        migrator: { kind: 'prisma-sql', migrationsDir: 'specs/fixtures-vitest/migrations-broken' },
      },
      root,
      {},
    );
    const err = await startSession(options, { workers: 1, log: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    const msg = (err as Error).message;
    expect(msg).toContain('20250102000000_broken');
    expect(msg).toContain('UPDATE "accounts" SET "tier" = \'free\'');
    expect(msg).toContain('column "tier" of relation "accounts" does not exist');
    expect(msg).toContain('42703');
    const left = await db.rows('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]);
    expect(left).toEqual([]);
  });
});

describe('failures inside tests (child Vitest runs)', () => {
  const childEnv = (adminUrl: string, prefix: string) => ({
    SHIPGATE_PROVIDER: 'external',
    SHIPGATE_DATABASE_URL: adminUrl,
    SHIPGATE_DB_PREFIX: prefix,
    SHIPGATE_KEEP_ON_FAILURE: '0',
  });

  test('a test that throws mid-transaction fails alone; the next test is clean; no database is left', async ({
    shipgate,
    db,
  }) => {
    const prefix = childPrefix();
    const run = await runChildVitest('throws-mid-transaction.fixture.ts', childEnv(shipgate.adminUrl, prefix));
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain('deliberate failure mid-transaction');
    expect(run.output).toMatch(/1 failed \| 1 passed/);
    const left = await db.rows<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${prefix}\\_t\\_%`,
    ]);
    expect(left).toEqual([]);
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  });

  test("SHIPGATE_KEEP_ON_FAILURE=1 keeps the failed file's database and prints its URL without the password", async ({
    shipgate,
    db,
  }) => {
    const prefix = childPrefix();
    const reports = mkdtempSync(path.join(tmpdir(), 'shipgate-kept-'));
    onTestFinished(() => rmSync(reports, { recursive: true, force: true }));
    const run = await runChildVitest('fails-in-file.fixture.ts', {
      ...childEnv(shipgate.adminUrl, prefix),
      SHIPGATE_KEEP_ON_FAILURE: '1',
      SHIPGATE_REPORT_DIR: reports,
    });
    expect(run.code, run.output).toBe(1);
    // The output names the database without its password; the full URL is in a 0600 file.
    const m = /shipgate: kept the database of a failed file: (postgres:\/\/\S+) \(full URL in (\S+)\)/.exec(run.output);
    expect(m, run.output).not.toBeNull();
    const password = new URL(shipgate.adminUrl).password;
    if (password) expect(run.output).not.toContain(password);
    expect(new URL(m?.[1] ?? '').password).toBe(password ? '***' : '');
    const file = m?.[2] ?? '';
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const full = readFileSync(file, 'utf8').trim();
    const kept = decodeURIComponent(new URL(full).pathname.slice(1));
    expect(new URL(full).password).toBe(password);
    expect(kept).toMatch(new RegExp(`^${prefix}_k_`));
    const rows = await db.rows('SELECT datname FROM pg_database WHERE datname = $1', [kept]);
    expect(rows).toHaveLength(1);
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  });

  test('SIGTERM during a run stops the embedded server and removes its data dir', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-sigterm-'));
    // As root, the server runs as "postgres", which must be able to enter the parent dir.
    chmodSync(dir, 0o755);
    try {
      const run = await runChildVitest(
        'waits.fixture.ts',
        { SHIPGATE_PROVIDER: 'embedded', SHIPGATE_EMBEDDED_DIR: dir, SHIPGATE_DATABASE_URL: '' },
        (out) => (out.includes('SHIPGATE_CHILD_READY') ? 'SIGTERM' : undefined),
      );
      expect(run.output).toContain('SHIPGATE_CHILD_READY');
      // The runner exits 1 ms after SIGTERM; shipgate's reaper removes the server right after.
      for (let i = 0; i < 50 && readdirSync(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(readdirSync(dir)).toEqual([]);
      expect(spawnSync('pgrep', ['-f', dir]).status, 'a postgres process still runs on the data dir').toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(existsSync(dir)).toBe(false);
  });
});
