import { expect, test } from '../../fixtures/vitest.ts';

test.override({ isolation: 'rollback' });

test('throws while its transaction holds a row lock', async ({ db }) => {
  await db.query("INSERT INTO users (email, name) VALUES ('mid@example.test', 'mid')");
  await db.query('SELECT * FROM users FOR UPDATE');
  throw new Error('deliberate failure mid-transaction');
});

test('the next test still gets a clean, usable transaction', async ({ db }) => {
  expect(await db.rows('SELECT 1 FROM users')).toHaveLength(0);
});
