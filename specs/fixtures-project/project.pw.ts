import { expect, test } from '../../fixtures/playwright.ts';

test('the app answers from the worker database', async ({ request, appServer, db }) => {
  // The worker's clone is truncated before each test; this row is the test's own.
  await db.query(`INSERT INTO "Item" ("name") VALUES ('written by the test')`);
  const res = await request.get(`${appServer.url}/items`);
  expect(await res.json()).toEqual(['written by the test']);
});

test('EXIT_FAIL=1 fails this test', () => {
  expect(process.env.EXIT_FAIL ?? '0').toBe('0');
});
