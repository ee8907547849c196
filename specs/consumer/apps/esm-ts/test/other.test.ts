import { expect, test } from 'shipgate/vitest';

test('this file gets its own clone of the template', async ({ db }) => {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Note"');
  expect(rows[0]?.n).toBe(1);
  // CONSUMER_FAIL=1 turns this into a failing run, for the exit-code checks.
  expect(process.env.CONSUMER_FAIL ?? '0').toBe('0');
});
