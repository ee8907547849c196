import { expect, test } from '../../../fixtures/playwright.ts';

// Interrupted by specs/e2e/playwright.test.ts while it waits.
for (const n of [1, 2]) {
  test(`waits to be interrupted ${n}`, async ({ page }) => {
    await page.goto('/');
    await expect(page.getByTestId('empty-state')).toBeVisible();
    process.stdout.write(`slow test ${n} is waiting\n`);
    await page.waitForTimeout(15_000);
  });
}
