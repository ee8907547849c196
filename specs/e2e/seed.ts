import type { PrismaClient } from '../../example/src/db.ts';
import type { Ticket, TicketPriority, TicketStatus, User } from '../../example/src/generated/prisma/client.ts';
import { type SeedOptions, type SeedResult, seed } from '../../example/src/seed.ts';

/** One ticket to create; authored by the customers in turn unless `author` names one (0-based). */
export interface TicketSeed {
  title: string;
  body?: string;
  status?: TicketStatus;
  priority?: TicketPriority;
  author?: number;
}

export interface E2eSeedInput {
  /** Agents to create; the first is an admin. Default 1. */
  agents?: number;
  /** Customers to create. Default 2. */
  customers?: number;
  /** Tickets to create, in this order (oldest first). Default none. */
  tickets?: readonly TicketSeed[];
  /** Also run the example's bulk generator (realistic users, tickets, threads). */
  generated?: SeedOptions;
}

/** What the seeder created, as the app's data layer returned it. */
export interface E2eSeed {
  agents: User[];
  customers: User[];
  tickets: Ticket[];
  generated?: SeedResult;
}

const AGENTS = ['Ada Admin', 'Ben Agent', 'Bea Agent'];
const CUSTOMERS = ['Cleo Customer', 'Dev Customer', 'Eve Customer', 'Finn Customer'];

let calls = 0;

/**
 * The E2E flows' seeder (`use.seeder`): creates users and tickets through the example app's
 * Prisma client, so the data is exactly what the app itself would write. Emails carry a
 * per-call tag, so a test can seed twice.
 */
export async function seedE2E(prisma: PrismaClient, input: E2eSeedInput = {}): Promise<E2eSeed> {
  calls += 1;
  const tag = `${process.pid.toString(36)}${calls.toString(36)}`;
  const { agents: agentCount = 1, customers: customerCount = 2, tickets = [] } = input;
  const agents: User[] = [];
  for (let i = 0; i < agentCount; i++) {
    const name = AGENTS[i] ?? `Agent ${i + 1}`;
    agents.push(
      await prisma.user.create({
        data: { name, email: `agent${i + 1}.${tag}@e2e.example.test`, role: i === 0 ? 'admin' : 'agent' },
      }),
    );
  }
  const customers: User[] = [];
  for (let i = 0; i < customerCount; i++) {
    const name = CUSTOMERS[i] ?? `Customer ${i + 1}`;
    customers.push(
      await prisma.user.create({ data: { name, email: `customer${i + 1}.${tag}@e2e.example.test`, role: 'customer' } }),
    );
  }
  if (tickets.length && customers.length === 0) throw new RangeError('seedE2E: tickets need at least one customer');
  const created: Ticket[] = [];
  // Distinct, increasing timestamps keep "newest first" lists deterministic.
  const base = Date.now() - tickets.length * 1000;
  for (const [i, t] of tickets.entries()) {
    const author = customers[t.author ?? i % customers.length] as User;
    const createdAt = new Date(base + i * 1000);
    created.push(
      await prisma.ticket.create({
        data: {
          title: t.title,
          body: t.body ?? `${t.title}. Details to follow.`,
          status: t.status ?? 'open',
          priority: t.priority ?? 'normal',
          authorId: author.id,
          createdAt,
          updatedAt: createdAt,
        },
      }),
    );
  }
  const generated = input.generated ? await seed(prisma, { seed: 1000 + calls, ...input.generated }) : undefined;
  return { agents, customers, tickets: created, ...(generated ? { generated } : {}) };
}

/** `list[i]`, or a clear error when the seed made fewer (keeps the flows free of `!`). */
export function nth<T>(list: readonly T[], i = 0): T {
  const item = list[i];
  if (item === undefined) throw new RangeError(`seeded ${list.length} item(s), the flow needs #${i + 1}`);
  return item;
}
