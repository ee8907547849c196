import { expect, test } from '../../fixtures/vitest.ts';

test('the migrated template holds its row', async ({ db }) => {
  const { rows } = await db.query<{ name: string }>('SELECT "name" FROM "Item"');
  expect(rows.map((r) => r.name)).toEqual(['seeded by the migration']);
});

test('EXIT_FAIL=1 fails this test', () => {
  expect(process.env.EXIT_FAIL ?? '0').toBe('0');
});
