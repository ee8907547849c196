import type { Prisma, PrismaClient } from './generated/prisma/client.ts';
import { AGENT_REPLIES, CONTEXT, CUSTOMER_REPLIES, FIRST_NAMES, LAST_NAMES, OPENERS, TOPICS } from './seed-corpus.ts';

export interface SeedOptions {
  /** Users to create (about a fifth become agents, one an admin). Default 20; env `SEED_USERS` for the CLI. */
  users?: number;
  /** Tickets to create. Default 1000; env `SEED_TICKETS` for the CLI. */
  tickets?: number;
  /** Average messages per ticket (each ticket gets 0..2×avg). Default 5; env `SEED_MESSAGES_PER_TICKET` for the CLI. */
  messagesPerTicket?: number;
  /** PRNG seed: the same seed gives the same data. Default 42. */
  seed?: number;
  /** Timestamps are spread over the 90 days before this instant. Default 2025-06-01T00:00:00Z (fixed, so output is reproducible). */
  now?: Date;
  /** Rows per INSERT. Default 500. */
  batchSize?: number;
}

export interface SeedResult {
  users: number;
  tickets: number;
  messages: number;
  userIds: number[];
  ticketIds: number[];
}

/** mulberry32: tiny, fast, good enough for test data, and the same on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Weighted<T extends string> = readonly (readonly [T, number])[];
const STATUS: Weighted<'open' | 'pending' | 'resolved' | 'closed'> = [
  ['open', 35],
  ['pending', 20],
  ['resolved', 30],
  ['closed', 15],
];
const PRIORITY: Weighted<'low' | 'normal' | 'high' | 'urgent'> = [
  ['low', 25],
  ['normal', 50],
  ['high', 20],
  ['urgent', 5],
];
const CHANNEL: Weighted<'email' | 'web' | 'chat' | 'phone' | 'api'> = [
  ['email', 40],
  ['web', 30],
  ['chat', 20],
  ['phone', 7],
  ['api', 3],
];

const DAY_MS = 86_400_000;

/**
 * Fills an empty (migrated) database with deterministic help-desk data: users, tickets with
 * varied status/priority/channel, and customer/agent message threads. Inserts with createMany
 * in batches. Emails include the seed, so two different seeds can share a database.
 */
export async function seed(prisma: PrismaClient, options: SeedOptions = {}): Promise<SeedResult> {
  const { users = 20, tickets = 1000, messagesPerTicket = 5, seed: seedValue = 42, batchSize = 500 } = options;
  const now = (options.now ?? new Date('2025-06-01T00:00:00Z')).getTime();
  for (const [name, value] of Object.entries({ users, tickets, messagesPerTicket, batchSize })) {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`seed option ${name} must be a non-negative integer, got ${value}`);
  }
  if (tickets > 0 && users === 0) throw new RangeError('seed option users must be at least 1 when tickets > 0');
  const rand = prng(seedValue);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const weighted = <T extends string>(list: Weighted<T>): T => {
    let r = rand() * list.reduce((sum, [, w]) => sum + w, 0);
    for (const [value, w] of list) {
      r -= w;
      if (r < 0) return value;
    }
    return (list.at(-1) as readonly [T, number])[0];
  };

  // Users: the first ~20% are agents (at least one when there is room), the first of all an admin.
  const agentCount = users < 2 ? 0 : Math.max(1, Math.round(users * 0.2));
  const userRows: Prisma.UserCreateManyInput[] = [];
  for (let i = 0; i < users; i++) {
    const first = pick(FIRST_NAMES);
    const last = pick(LAST_NAMES);
    const slug = `${first}.${last}`
      .normalize('NFD')
      .replace(/[^A-Za-z.]/g, '')
      .toLowerCase();
    userRows.push({
      email: `${slug}.${i + 1}@seed${seedValue}.example.test`,
      name: `${first} ${last}`,
      role: i === 0 && users > 1 ? 'admin' : i <= agentCount && i > 0 ? 'agent' : 'customer',
      createdAt: new Date(now - 120 * DAY_MS + Math.floor(rand() * 30 * DAY_MS)),
    });
  }
  const userIds: number[] = [];
  for (const batch of chunks(userRows, batchSize)) {
    const created = await prisma.user.createManyAndReturn({ data: batch, select: { id: true } });
    userIds.push(...created.map((u) => u.id));
  }
  const staff = userIds.slice(0, Math.max(1, agentCount + 1));
  const customers = userIds.length > staff.length ? userIds.slice(staff.length) : userIds;

  const ticketRows: Prisma.TicketCreateManyInput[] = [];
  for (let i = 0; i < tickets; i++) {
    const [area, problem, detail] = pick(TOPICS);
    const createdAt = new Date(now - Math.floor(rand() * 90 * DAY_MS));
    ticketRows.push({
      title: `${capitalize(problem)}${rand() < 0.3 ? ` (${area})` : ''}`,
      body: [pick(OPENERS), detail, pick(CONTEXT), rand() < 0.5 ? pick(CONTEXT) : '', `Ref ${area}-${1000 + i}.`]
        .filter(Boolean)
        .join(' '),
      status: weighted(STATUS),
      priority: weighted(PRIORITY),
      channel: weighted(CHANNEL),
      authorId: pick(customers),
      createdAt,
      updatedAt: createdAt,
    });
  }
  const ticketIds: number[] = [];
  for (const batch of chunks(ticketRows, batchSize)) {
    const created = await prisma.ticket.createManyAndReturn({ data: batch, select: { id: true } });
    ticketIds.push(...created.map((t) => t.id));
  }

  // Threads alternate agent and customer replies, minutes to a day apart, up to `now`.
  let messages = 0;
  let pending: Prisma.MessageCreateManyInput[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    messages += (await prisma.message.createMany({ data: pending })).count;
    pending = [];
  };
  for (const [i, ticketId] of ticketIds.entries()) {
    const ticket = ticketRows[i] as Prisma.TicketCreateManyInput;
    const count = Math.floor(rand() * (2 * messagesPerTicket + 1));
    let at = new Date(ticket.createdAt as Date).getTime();
    for (let m = 0; m < count; m++) {
      at += 60_000 + Math.floor(rand() * DAY_MS);
      if (at > now) break; // the rest of the thread has not happened yet
      const fromAgent = m % 2 === 0;
      pending.push({
        ticketId,
        authorId: fromAgent ? pick(staff) : ticket.authorId,
        body: fromAgent ? pick(AGENT_REPLIES) : pick(CUSTOMER_REPLIES),
        createdAt: new Date(at),
      });
      if (pending.length >= batchSize) await flush();
    }
  }
  await flush();

  return { users: userIds.length, tickets: ticketIds.length, messages, userIds, ticketIds };
}

function* chunks<T>(rows: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < rows.length; i += Math.max(1, size)) yield rows.slice(i, i + Math.max(1, size));
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// `node example/src/seed.ts`: seeds DATABASE_URL; SEED_USERS, SEED_TICKETS,
// SEED_MESSAGES_PER_TICKET and SEED override the defaults. Prints one JSON line of counts.
if (import.meta.main) {
  const { createPrisma } = await import('./db.ts');
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is not set (e.g. postgres://user:pass@127.0.0.1:5432/app)\n');
    process.exit(1);
  }
  const num = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);
  const prisma = createPrisma(url);
  const started = process.hrtime.bigint();
  try {
    const result = await seed(prisma, {
      users: num('SEED_USERS'),
      tickets: num('SEED_TICKETS'),
      messagesPerTicket: num('SEED_MESSAGES_PER_TICKET'),
      seed: num('SEED'),
    });
    const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3;
    process.stdout.write(
      `${JSON.stringify({ event: 'seeded', users: result.users, tickets: result.tickets, messages: result.messages, durationMs })}\n`,
    );
  } finally {
    await prisma.$disconnect();
  }
}
