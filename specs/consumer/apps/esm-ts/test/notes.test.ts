import { expect, test } from 'shipgate/vitest';

test('the template holds the migrated table and its data', async ({ db }) => {
  const { rows } = await db.query<{ title: string }>('SELECT "title" FROM "Note" ORDER BY "id"');
  expect(rows.map((r) => r.title)).toEqual(['from the migration']);
});

test('a write in one file is invisible to the next file', async ({ db }) => {
  await db.query(`INSERT INTO "Note" ("title") VALUES ('written by notes.test.ts')`);
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Note"');
  expect(rows[0]?.n).toBe(2);
});
