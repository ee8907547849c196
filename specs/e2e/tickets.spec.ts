import './register.ts';
import { expect, test } from '../../fixtures/playwright.ts';
import { nth } from './seed.ts';

test.describe('tickets', () => {
  test('create, find by search, edit and delete a ticket', async ({ page, seed, prisma }) => {
    const { customers } = await seed({
      tickets: [
        { title: 'Password reset mail never arrives', body: 'No email after clicking reset.' },
        { title: 'Export to CSV is slow', body: 'Exports take minutes for big reports.' },
      ],
    });

    // Create
    await page.goto('/tickets');
    await page.getByTestId('new-ticket').click();
    await page.getByTestId('field-authorId').selectOption(String(nth(customers, 1).id));
    await page.getByTestId('field-title').fill('Printer on floor 3 shows paper jam');
    await page.getByTestId('field-body').fill('The office printer reports a jam although the tray is empty.');
    await page.getByTestId('field-priority').selectOption('high');
    await page.getByTestId('save-ticket').click();
    await expect(page.getByTestId('flash')).toHaveText('Ticket created.');
    await expect(page.getByTestId('ticket-title')).toHaveText('Printer on floor 3 shows paper jam');
    await expect(page.getByTestId('ticket-priority')).toHaveText('high');
    await expect(page.getByTestId('no-messages')).toBeVisible();
    const id = Number(new URL(page.url()).pathname.split('/').pop());

    // Search: full text finds it by a word of its body (stemmed), and not the others.
    await page.getByTestId('nav-tickets').click();
    await expect(page.getByTestId('ticket-row')).toHaveCount(3);
    await page.getByTestId('ticket-search').fill('tray');
    await page.getByTestId('search-submit').click();
    await expect(page).toHaveURL(/\/tickets\?q=tray$/);
    await expect(page.getByTestId('result-count')).toHaveText('1 ticket matching “tray”');
    await expect(page.getByTestId('ticket-link')).toHaveText(['Printer on floor 3 shows paper jam']);
    await page.getByTestId('ticket-search').fill('exports');
    await page.getByTestId('search-submit').click();
    await expect(page.getByTestId('ticket-link')).toHaveText(['Export to CSV is slow']);
    await page.getByTestId('ticket-search').fill('kangaroo');
    await page.getByTestId('search-submit').click();
    await expect(page.getByTestId('no-results')).toHaveText('No tickets match “kangaroo”.');

    // Edit
    await page.goto(`/tickets/${id}`);
    await page.getByTestId('field-title').fill('Printer on floor 3: false paper jam');
    await page.getByTestId('field-status').selectOption('resolved');
    await page.getByTestId('save-ticket').click();
    await expect(page.getByTestId('flash')).toHaveText('Changes saved.');
    await expect(page.getByTestId('ticket-title')).toHaveText('Printer on floor 3: false paper jam');
    await expect(page.getByTestId('ticket-status')).toHaveText('resolved');
    expect(await prisma.ticket.findUniqueOrThrow({ where: { id } })).toMatchObject({
      title: 'Printer on floor 3: false paper jam',
      status: 'resolved',
      priority: 'high',
      authorId: nth(customers, 1).id,
      channel: 'web',
    });

    // Delete
    await page.getByTestId('delete-ticket').click();
    await expect(page).toHaveURL(/\/tickets\?deleted=/);
    await expect(page.getByTestId('flash')).toHaveText('Deleted ticket "Printer on floor 3: false paper jam".');
    await expect(page.getByTestId('ticket-link')).toHaveText([
      'Export to CSV is slow',
      'Password reset mail never arrives',
    ]);
    expect(await prisma.ticket.findUnique({ where: { id } })).toBeNull();
  });

  test('validation errors are shown next to the fields, and nothing is saved', async ({ page, seed, prisma }) => {
    const { customers } = await seed({ customers: 1 });
    await page.goto('/tickets/new');
    await page.getByTestId('field-title').fill('   ');
    await page.getByTestId('field-body').fill('Something is wrong with the login page.');
    await page.getByTestId('save-ticket').click();

    await expect(page.getByTestId('form-error')).toHaveText('The ticket was not saved: 2 fields need attention.');
    await expect(page.getByTestId('field-error-authorId')).toHaveText('authorId is required');
    await expect(page.getByTestId('field-error-title')).toHaveText('title is required');
    await expect(page.getByTestId('field-error-body')).toHaveCount(0);
    // What the user typed is kept.
    await expect(page.getByTestId('field-body')).toHaveValue('Something is wrong with the login page.');
    expect(await prisma.ticket.count()).toBe(0);

    await page.getByTestId('field-authorId').selectOption(String(nth(customers).id));
    await page.getByTestId('field-title').fill('x'.repeat(201));
    await page.getByTestId('save-ticket').click();
    await expect(page.getByTestId('field-error-title')).toHaveText('title must be at most 200 characters (got 201)');
    await expect(page.getByTestId('field-error-authorId')).toHaveCount(0);
    expect(await prisma.ticket.count()).toBe(0);

    await page.getByTestId('field-title').fill('Login page shows a blank screen');
    await page.getByTestId('save-ticket').click();
    await expect(page.getByTestId('flash')).toHaveText('Ticket created.');
    expect(await prisma.ticket.count()).toBe(1);
  });

  test('an edit that empties the title is refused and the ticket keeps its title', async ({ page, seed, prisma }) => {
    const { tickets } = await seed({ tickets: [{ title: 'Calendar sync fails' }] });
    const ticket = nth(tickets);
    await page.goto(`/tickets/${ticket.id}`);
    await page.getByTestId('field-title').fill('');
    await page.getByTestId('save-ticket').click();
    await expect(page.getByTestId('form-error')).toHaveText('The ticket was not saved: 1 field needs attention.');
    await expect(page.getByTestId('field-error-title')).toHaveText('title is required');
    expect((await prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).title).toBe('Calendar sync fails');
  });
});
