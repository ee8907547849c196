import { expect, test } from '../../fixtures/vitest.ts';

test('writes a row, then fails', async ({ db }) => {
  await db.query("INSERT INTO users (email, name) VALUES ('kept@example.test', 'kept')");
  expect('actual').toBe('expected');
});
