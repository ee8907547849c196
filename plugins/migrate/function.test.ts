import { describe, expect, onTestFinished, test } from 'vitest';
import { createScratchDatabase, withClient } from '../../specs/support/test-db.ts';
import { ConfigError, MigrationError, ShipgateError } from '../core/errors.ts';
import { functionMigrator } from './function.ts';

describe('function migrator', () => {
  test('migrates a real database with your function and reports what it returned', async () => {
    const db = await createScratchDatabase();
    onTestFinished(() => db.drop());
    const seen: string[] = [];
    const migrator = functionMigrator({
      name: 'sql-runner',
      hash: 'v3',
      migrate: async (url, options) => {
        seen.push(url);
        options.onProgress?.('creating widgets');
        await withClient(url, (c) => c.query('CREATE TABLE widgets (id int PRIMARY KEY)'));
        return ['001_widgets'];
      },
    });
    const progress: string[] = [];
    const result = await migrator.migrate(db.url, { onProgress: (m) => progress.push(m) });
    expect(migrator.name).toBe('sql-runner');
    expect(result.applied).toEqual(['001_widgets']);
    expect(result.durationUs).toBeGreaterThan(0);
    expect(seen).toEqual([db.url]);
    expect(progress).toEqual(['creating widgets']);
    const t = await withClient(db.url, (c) => c.query("SELECT to_regclass('widgets')::text AS t"));
    expect(t.rows[0].t).toBe('widgets');
  });

  test('hash: hex digest of name and your key; a function key may be async', async () => {
    const migrate = async () => {};
    const a = await functionMigrator({ hash: 'v1', migrate }).hash();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await functionMigrator({ hash: async () => 'v1', migrate }).hash()).toBe(a);
    expect(await functionMigrator({ hash: () => 'v1', migrate }).hash()).toBe(a);
    expect(await functionMigrator({ hash: 'v2', migrate }).hash()).not.toBe(a);
    expect(await functionMigrator({ name: 'other', hash: 'v1', migrate }).hash()).not.toBe(a);
  });

  test('errors: a throwing migrate becomes SHIPGATE_MIGRATION_FAILED with the cause; shipgate errors pass through', async () => {
    const boom = new Error('relation "x" does not exist');
    const err = await functionMigrator({
      hash: 'v1',
      migrate: async () => {
        throw boom;
      },
    })
      .migrate('postgres://unused/db')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'SHIPGATE_MIGRATION_FAILED', cause: boom });
    expect((err as Error).message).toContain('Migrator "function" failed: relation "x" does not exist.');

    const own = new ShipgateError('SHIPGATE_X', 'already explained');
    await expect(
      functionMigrator({
        hash: 'v1',
        migrate: async () => {
          throw own;
        },
      }).migrate('postgres://unused/db'),
    ).rejects.toBe(own);

    const badHash = await functionMigrator({ hash: () => '', migrate: async () => {} })
      .hash()
      .catch((e: unknown) => e);
    expect(badHash).toMatchObject({ code: 'SHIPGATE_MIGRATION_HASH_FAILED' });
  });

  test('options are validated up front, every problem at once', () => {
    let err: unknown;
    try {
      functionMigrator({ name: '', hash: '', migrate: 'nope' } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'migrator.name is ""; expected a non-empty string',
      'migrator.hash is ""; expected a non-empty string or a function returning one',
      'migrator.migrate is string; expected (url) => Promise<void>',
    ]);
  });
});
