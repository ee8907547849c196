import { expect, test } from '../../../fixtures/playwright.ts';

// Run by specs/e2e/playwright.test.ts, which checks what these leave behind.

test('passes', async ({ page, database }) => {
  await page.goto('/');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  test.info().annotations.push({ type: 'database', description: database.name });
});

test('fails on a server error, with artifacts', async ({ page, db }) => {
  // The app honours an incoming x-request-id, so the failing request's trace id is known here.
  await page.setExtraHTTPHeaders({ 'x-request-id': 'child-failing-request' });
  await db.query('ALTER TABLE tickets RENAME TO tickets_away');
  try {
    await page.goto('/tickets');
    await expect(page.getByTestId('tickets'), 'the list, not an error page').toBeVisible({ timeout: 1_000 });
  } finally {
    await db.query('ALTER TABLE tickets_away RENAME TO tickets');
  }
});

test('passes on retry', async ({ page }, testInfo) => {
  await page.goto('/tickets');
  expect(testInfo.retry, 'the first attempt fails on purpose').toBeGreaterThan(0);
});
