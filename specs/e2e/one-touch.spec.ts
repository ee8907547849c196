import './register.ts';
import { expect, test } from '../../fixtures/playwright.ts';
import { nth } from './seed.ts';

const TICKETS = [
  { title: 'Checkout page is down', body: 'Customers get a 502 on checkout since 09:00.' },
  { title: 'Charged twice for March', body: 'My card statement shows a double charge.' },
  { title: 'Feature request: dark mode', body: 'A dark theme would be easier on the eyes.' },
  { title: 'Question about my plan', body: 'Which plan includes single sign-on?' },
  { title: 'Password reset link expired', body: 'The link in the email says it expired.' },
  { title: 'Where are my invoices?', body: 'I cannot find last month’s invoice.', status: 'pending' as const },
];

test.describe('one-touch triage run', () => {
  test('start from the dashboard, watch progress until done, review and send', async ({ page, seed, prisma }) => {
    const { agents, tickets } = await seed({ agents: 1, customers: 2, tickets: TICKETS });
    const agent = nth(agents);

    // Every value the progress bar shows, recorded by the page itself as it renders, so a slow
    // test process cannot miss one.
    // It also notes whether "Review & send" was offered before the run was done.
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      document.addEventListener('DOMContentLoaded', () => {
        const bar = document.querySelector('[data-testid="progress-bar"]');
        const review = document.querySelector<HTMLElement>('[data-testid="review-send"]');
        if (!bar || !review) return;
        const read = () => {
          const now = `${bar.getAttribute('aria-valuenow')}/${bar.getAttribute('aria-valuemax')}${review.hidden ? '' : ' review'}`;
          if (seen.at(-1) !== now) seen.push(now);
        };
        read();
        new MutationObserver(read).observe(bar.parentElement as HTMLElement, { attributes: true, subtree: true });
      });
    });

    await page.goto('/');
    await expect(page.getByTestId('stat-open')).toHaveText('5');
    await page.getByTestId('agent-select').selectOption(String(agent.id));
    await page.getByTestId('one-touch-btn').click();

    await expect(page).toHaveURL(/\/jobs\/\d+$/);
    await expect(page.getByTestId('progress-sheet')).toBeVisible();
    // The page updates itself (it polls); the test only waits for the end.
    await expect(page.getByTestId('job-status')).toHaveText('done', { timeout: 15_000 });
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    // e.g. ['0/5', '1/5', '3/5', '5/5 review']: starts at 0, moves up through the steps, and
    // offers the review only at the end.
    expect(seen[0], seen.join(', ')).toBe('0/5');
    expect(seen.at(-1), seen.join(', ')).toBe('5/5 review');
    const values = seen.map((v) => Number.parseInt(v, 10));
    expect(
      values.some((v) => v > 0 && v < 5),
      `progress values seen: ${seen.join(', ')}`,
    ).toBe(true);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    expect(seen.slice(0, -1).filter((v) => v.endsWith('review'))).toEqual([]);
    await expect(page.getByTestId('progress-count')).toHaveText('5 / 5');
    await expect(page.getByTestId('progress-bar')).toHaveAttribute('aria-valuemax', '5');

    await page.getByTestId('review-send').click();
    const rows = page.getByTestId('draft-row');
    await expect(rows).toHaveCount(5);
    await expect(rows.getByTestId('draft-priority')).toHaveText(['urgent', 'high', 'low', 'normal', 'normal']);
    await expect(rows.nth(0).getByTestId('draft-body')).toContainText(
      'Hi Cleo, thanks for reporting "Checkout page is down"',
    );
    await expect(rows.nth(1).getByTestId('draft-body')).toContainText('Hi Dev,');

    await page.getByTestId('send-replies').click();
    await expect(page.getByTestId('sent-banner')).toHaveText('Sent 5 replies.');
    await expect(page.getByTestId('send-replies')).toHaveCount(0);

    // Evidence in the database: one reply per open ticket, from the agent; the pending one untouched.
    const jobId = Number(new URL(page.url()).pathname.split('/')[2]);
    const job = await prisma.job.findUniqueOrThrow({ where: { id: jobId } });
    expect(job).toMatchObject({ status: 'sent', processed: 5, total: 5, agentId: agent.id });
    const after = await prisma.ticket.findMany({
      where: { id: { in: tickets.map((t) => t.id) } },
      orderBy: { id: 'asc' },
      include: { messages: true },
    });
    expect(after.map((t) => [t.status, t.priority, t.messages.map((m) => m.authorId)])).toEqual([
      ['pending', 'urgent', [agent.id]],
      ['pending', 'high', [agent.id]],
      ['pending', 'low', [agent.id]],
      ['pending', 'normal', [agent.id]],
      ['pending', 'normal', [agent.id]],
      ['pending', 'normal', []],
    ]);
  });

  test('sending a run twice is refused and changes nothing', async ({ page, seed, prisma }) => {
    const { agents } = await seed({ tickets: [{ title: 'VPN drops every hour' }] });
    await page.goto('/');
    await page.getByTestId('agent-select').selectOption(String(nth(agents).id));
    await page.getByTestId('one-touch-btn').click();
    await expect(page.getByTestId('review-send')).toBeVisible();
    const jobUrl = page.url();
    await page.getByTestId('review-send').click();
    await page.getByTestId('send-replies').click();
    await expect(page.getByTestId('sent-banner')).toBeVisible();

    // A second submit (another tab, a double click that got through) gets a 409 page.
    const again = await page.request.post(`${jobUrl}/send`, { maxRedirects: 0 });
    expect(again.status()).toBe(409);
    expect(await again.text()).toContain('only a done job can be sent');
    expect(await prisma.message.count()).toBe(1);
  });

  test('a run with no open tickets finishes at once with nothing to send', async ({ page, seed }) => {
    const { agents } = await seed({ agents: 2, customers: 0 });
    await page.goto('/');
    await page.getByTestId('agent-select').selectOption(String(nth(agents, 1).id));
    await page.getByTestId('one-touch-btn').click();
    await expect(page.getByTestId('job-status')).toHaveText('done');
    await expect(page.getByTestId('progress-count')).toHaveText('0 / 0');
    await page.getByTestId('review-send').click();
    await expect(page.getByTestId('no-drafts')).toBeVisible();
    await expect(page.getByTestId('send-replies')).toHaveCount(0);
  });

  test('starting a run without choosing an agent shows the error and starts nothing', async ({
    page,
    seed,
    prisma,
  }) => {
    await seed({ tickets: [{ title: 'Printer jams' }] });
    await page.goto('/');
    await page.getByTestId('one-touch-btn').click();
    await expect(page).toHaveURL(/\/jobs$/);
    await expect(page.getByTestId('form-error')).toHaveText('The run was not started.');
    await expect(page.getByTestId('field-error-agentId')).toHaveText(
      'agentId is required: choose who the replies come from',
    );
    expect(await prisma.job.count()).toBe(0);
  });
});
