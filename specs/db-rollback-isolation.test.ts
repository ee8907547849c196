import { describe, expect, test } from '../fixtures/vitest.ts';

describe('isolation: rollback (one transaction per test, rolled back)', () => {
  test.override({ isolation: 'rollback' });

  test('a test writes rows', async ({ db }) => {
    expect(db.isolation).toBe('rollback');
    await db.query("INSERT INTO users (email, name) VALUES ('rb@example.test', 'rb')");
    expect(await db.rows('SELECT 1 FROM users')).toHaveLength(1);
  });

  test('the next test does not see them', async ({ db }) => {
    expect(await db.rows('SELECT 1 FROM users')).toHaveLength(0);
  });

  test('nested transactions become savepoints: inner rollback keeps outer work', async ({ db }) => {
    await db.query("INSERT INTO users (email, name) VALUES ('outer@example.test', 'outer')");
    await expect(
      db.transaction(async (q) => {
        await q.query("INSERT INTO users (email, name) VALUES ('inner@example.test', 'inner')");
        throw new Error('inner fails');
      }),
    ).rejects.toThrow('inner fails');
    await db.transaction(async (q) => {
      await q.query("INSERT INTO users (email, name) VALUES ('inner-ok@example.test', 'inner ok')");
    });
    const rows = await db.rows<{ email: string }>('SELECT email FROM users ORDER BY email');
    expect(rows.map((r) => r.email)).toEqual(['inner-ok@example.test', 'outer@example.test']);
  });

  test('explicit BEGIN/COMMIT through the pool never commits the outer transaction', async ({ db }) => {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query("INSERT INTO users (email, name) VALUES ('pool@example.test', 'pool')");
    await client.query('COMMIT');
    client.release();
    const [{ in_tx } = { in_tx: false }] = await db.rows<{ in_tx: boolean }>(
      'SELECT now() = statement_timestamp() IS FALSE OR txid_current_if_assigned() IS NOT NULL AS in_tx',
    );
    expect(in_tx).toBe(true);
  });

  test('…so the previous test left nothing behind', async ({ db }) => {
    expect(await db.rows('SELECT 1 FROM users')).toHaveLength(0);
  });

  test('a statement error inside the test does not poison the next test', async ({ db }) => {
    await expect(db.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
  });

  test('…which starts in a clean transaction', async ({ db }) => {
    expect(await db.rows('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
