import { defineSlo } from '../plugins/budget/index.ts';

/**
 * Budgets of the example help-desk app (seeds: reads p95 < 200 ms, writes p95 < 500 ms,
 * error rate < 0.1 %). `normal` runs each at 50 requests/s for 30 s; the `smoke` profile
 * (`pnpm test`) keeps the rate and runs just long enough for p95 to have its 200 samples.
 * The template is seeded with 20 users, 1,000 tickets and ~5,000 messages (perf/seed.ts).
 */

const READ = { p95: 200, errorRate: 0.001 } as const;
const WRITE = { p95: 500, errorRate: 0.001 } as const;
const LOAD = { kind: 'rate', rps: 50, duration: '30s' } as const;

/** Ticket ids 1…1000 exist in the seeded template; spread reads over them. */
const ticketId = (i: number) => 1 + ((i * 37) % 1000);
const userId = (i: number) => 1 + (i % 20);

export const ticketsList = defineSlo({
  id: 'example-tickets-list',
  name: 'GET /api/tickets',
  endpoint: { method: 'GET', path: '/api/tickets?limit=20' },
  load: LOAD,
  budgets: READ,
});

export const ticketDetail = defineSlo({
  id: 'example-ticket-detail',
  name: 'GET /api/tickets/:id',
  endpoint: { method: 'GET', path: '/api/tickets/:id', request: (i) => ({ path: `/api/tickets/${ticketId(i)}` }) },
  load: LOAD,
  budgets: READ,
});

const TERMS = ['refund', 'password reset', 'invoice -duplicate', '"credit card"', 'login', 'export'];
export const search = defineSlo({
  id: 'example-search',
  name: 'GET /api/search',
  endpoint: {
    method: 'GET',
    path: '/api/search',
    request: (i) => ({ path: `/api/search?q=${encodeURIComponent(TERMS[i % TERMS.length] as string)}&limit=20` }),
  },
  load: LOAD,
  budgets: READ,
});

export const ticketCreate = defineSlo({
  id: 'example-ticket-create',
  name: 'POST /api/tickets',
  endpoint: {
    method: 'POST',
    path: '/api/tickets',
    expectStatus: 201,
    request: (i) => ({
      body: { authorId: userId(i), title: `Budget ticket ${i}`, body: `Created by the budget run, request ${i}.` },
    }),
  },
  load: LOAD,
  budgets: WRITE,
});

export const messageCreate = defineSlo({
  id: 'example-message-create',
  name: 'POST /api/tickets/:id/messages',
  endpoint: {
    method: 'POST',
    path: '/api/tickets/:id/messages',
    expectStatus: 201,
    request: (i) => ({
      path: `/api/tickets/${ticketId(i)}/messages`,
      body: { authorId: userId(i), body: `Reply ${i} from the budget run.` },
    }),
  },
  load: LOAD,
  budgets: WRITE,
});

/** Every budget of the example app, reads first. */
export const exampleSlos = [ticketsList, ticketDetail, search, ticketCreate, messageCreate];
