import './register.ts';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { seed } from '../src/seed.ts';

describe('synthetic QA seed', () => {
  test.override({ isolation: 'test' });

  test('writes the configured counts, with every status and FK intact', async ({ prisma, db }) => {
    const result = await seed(prisma, { users: 5, tickets: 40, messagesPerTicket: 3 });
    expect([result.users, result.tickets]).toEqual([5, 40]);
    const [counts] = await db.rows<{
      users: number;
      tickets: number;
      messages: number;
      statuses: number;
      orphans: number;
    }>(`
      SELECT (SELECT count(*)::int FROM users) AS users,
             (SELECT count(*)::int FROM tickets) AS tickets,
             (SELECT count(*)::int FROM messages) AS messages,
             (SELECT count(DISTINCT status)::int FROM tickets) AS statuses,
             (SELECT count(*)::int FROM messages m LEFT JOIN tickets t ON t.id = m."ticketId" WHERE t.id IS NULL) AS orphans`);
    expect(counts).toMatchObject({ users: 5, tickets: 40, statuses: 4, orphans: 0 });
    expect(counts?.messages).toBe(result.messages);
    expect(result.messages).toBeGreaterThan(0);
  });

  test('is deterministic for a given seed number', async ({ db, prisma }) => {
    const opts = { users: 3, tickets: 10, messagesPerTicket: 2, seed: 7 };
    await seed(prisma, opts);
    const first = await db.rows('SELECT title, status, priority, channel FROM tickets ORDER BY id');
    await db.query('TRUNCATE messages, tickets, users RESTART IDENTITY CASCADE');
    await seed(prisma, opts);
    const second = await db.rows('SELECT title, status, priority, channel FROM tickets ORDER BY id');
    expect(second).toEqual(first);
  });
});
