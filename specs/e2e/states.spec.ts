import './register.ts';
import { expect, test } from '../../fixtures/playwright.ts';

test.describe('empty and error states', () => {
  test('a fresh database shows the empty state everywhere', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByTestId('empty-state')).toContainText('No tickets yet.');
    for (const status of ['open', 'pending', 'resolved', 'closed']) {
      await expect(page.getByTestId(`stat-${status}`)).toHaveText('0');
    }
    await expect(page.getByTestId('no-agents')).toBeVisible();
    await expect(page.getByTestId('one-touch-btn')).toHaveCount(0);
    await expect(page.getByTestId('no-jobs')).toBeVisible();
    await page.getByTestId('nav-tickets').click();
    await expect(page.getByTestId('empty-state')).toBeVisible();
    await expect(page.getByTestId('ticket-row')).toHaveCount(0);
  });

  test('a server error is shown as a page with its trace id, and logged with the same id', async ({
    page,
    db,
    serverLog,
  }) => {
    // A real failure in this worker's own database: the table the page reads is gone.
    await db.query('ALTER TABLE tickets RENAME TO tickets_away');
    try {
      const response = await page.goto('/tickets');
      expect(response?.status()).toBe(500);
      const traceId = response?.headers()['x-request-id'] ?? '';
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      await expect(page.getByTestId('error-page')).toBeVisible();
      await expect(page.getByTestId('error-title')).toHaveText('Something went wrong');
      await expect(page.getByTestId('error-trace-id')).toHaveText(traceId);
      // The page never leaks internals.
      await expect(page.locator('body')).not.toContainText('prisma');
      await expect(page.locator('body')).not.toContainText('tickets_away');

      const lines = serverLog.forTrace(traceId);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.json).toMatchObject({ level: 'error', status: 500, path: '/tickets', traceId });
      expect(lines[0]?.json?.error).toMatchObject({ code: 'P2021' });
      expect(serverLog.failures().map((l) => l.json?.traceId)).toEqual([traceId]);

      await page.getByTestId('error-home').click();
      await expect(page.getByTestId('error-page')).toBeVisible();
    } finally {
      await db.query('ALTER TABLE tickets_away RENAME TO tickets');
    }
    await page.goto('/tickets');
    await expect(page.getByTestId('empty-state')).toBeVisible();
  });

  test('a missing ticket is a 404 page, not an error', async ({ page, serverLog }) => {
    const response = await page.goto('/tickets/424242');
    expect(response?.status()).toBe(404);
    await expect(page.getByTestId('not-found')).toBeVisible();
    await expect(page.getByTestId('error-message')).toHaveText('Ticket 424242 not found');
    expect(serverLog.failures()).toEqual([]);
  });
});
