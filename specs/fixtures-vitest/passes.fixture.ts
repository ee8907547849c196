import { expect, test } from '../../fixtures/vitest.ts';

test('reads its migrated database', async ({ db }) => {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  expect(rows[0]?.n).toBe(0);
});
