import { describe, expect, test } from '../fixtures/vitest.ts';

describe('db fixture, file isolation (default)', () => {
  test('is a migrated clone of the template, named with the run prefix', async ({ db, shipgate }) => {
    expect(db.isolation).toBe('file');
    const [row] = await db.rows<{ name: string }>('SELECT current_database() AS name');
    expect(row?.name).toBe(db.name);
    expect(db.name).toMatch(new RegExp(`^${shipgate.prefix}_t_[0-9a-z]+_${shipgate.runId}_`));
    const tables = await db.rows<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(['_prisma_migrations', 'users', 'tickets', 'messages']),
    );
  });

  test('writes persist across tests in the same file', async ({ db }) => {
    await db.query("INSERT INTO users (email, name) VALUES ('file-a@example.test', 'A')");
    const rows = await db.rows('SELECT * FROM users');
    expect(rows).toHaveLength(1);
  });

  test('…and are seen by the next test of the file', async ({ db }) => {
    const rows = await db.rows<{ email: string }>('SELECT email FROM users');
    expect(rows.map((r) => r.email)).toEqual(['file-a@example.test']);
  });

  test('transaction() commits on success and rolls back on throw', async ({ db }) => {
    await db.transaction(async (q) => {
      await q.query("INSERT INTO users (email, name) VALUES ('tx-ok@example.test', 'ok')");
    });
    await expect(
      db.transaction(async (q) => {
        await q.query("INSERT INTO users (email, name) VALUES ('tx-bad@example.test', 'bad')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.rows<{ email: string }>("SELECT email FROM users WHERE email LIKE 'tx-%' ORDER BY 1");
    expect(rows.map((r) => r.email)).toEqual(['tx-ok@example.test']);
  });
});
