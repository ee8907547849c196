import { createPrisma } from '../example/src/db.ts';
import { seed } from '../example/src/seed.ts';

/**
 * Seeds the budget phase's template once per run (shipgate's `seed` option), with the data
 * the seeds describe for QA: 20 users, 1,000 tickets, about 5 messages per ticket. Budgets
 * measured on an empty database would flatter every query.
 */
export async function seedTemplate(url: string): Promise<void> {
  const prisma = createPrisma(url, { max: 4 });
  try {
    await seed(prisma, { users: 20, tickets: 1000, messagesPerTicket: 5 });
  } finally {
    await prisma.$disconnect();
  }
}
