import { describe, expect, test } from '../fixtures/vitest.ts';

describe('isolation: test (a fresh clone per test)', () => {
  test.override({ isolation: 'test' });
  const seen: string[] = [];

  test('first test writes a row in its own database', async ({ db }) => {
    seen.push(db.name);
    await db.query("INSERT INTO users (email, name) VALUES ('t1@example.test', 'one')");
    expect(await db.rows('SELECT 1 FROM users')).toHaveLength(1);
  });

  test('second test gets another database without that row', async ({ db }) => {
    seen.push(db.name);
    expect(seen[0]).not.toBe(seen[1]);
    expect(await db.rows('SELECT 1 FROM users')).toHaveLength(0);
  });

  test('the first database was dropped when its test ended', async ({ db }) => {
    const rows = await db.rows('SELECT 1 FROM pg_database WHERE datname = $1', [seen[0]]);
    expect(rows).toHaveLength(0);
  });
});
