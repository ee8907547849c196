import { defineSlo } from '../plugins/budget/index.ts';

/**
 * The SLOs of the write-ups shipgate grew from ("the seeds"), as code. They are not run
 * against the example app (it has no such endpoints); specs/budget/seeds.test.ts checks that
 * each is expressible and turns into the k6 thresholds and scenarios the seeds describe.
 */

/** `/api/match/top`: p95 < 800 ms at a constant 20 requests/s. */
export const matchTop = defineSlo({
  id: 'seed-match-top',
  endpoint: { method: 'GET', path: '/api/match/top' },
  load: { kind: 'rate', rps: 20, duration: '1m' },
  budgets: { p95: 800, errorRate: 0.001 },
});

/** `/api/outreach/start`: p95 < 1.5 s with a burst of 10 users. */
export const outreachStart = defineSlo({
  id: 'seed-outreach-start',
  endpoint: { method: 'POST', path: '/api/outreach/start', body: { campaign: 'spring' } },
  load: { kind: 'burst', vus: 10, duration: '30s' },
  budgets: { p95: '1.5s', errorRate: 0.001 },
});

/** `/api/audit/run`: p95 < 5 s on a 5 → 20 → 0 user spike. */
export const auditRun = defineSlo({
  id: 'seed-audit-run',
  endpoint: { method: 'POST', path: '/api/audit/run' },
  load: {
    kind: 'stages',
    unit: 'vus',
    start: 5,
    stages: [
      { duration: '30s', target: 20 },
      { duration: '30s', target: 20 },
      { duration: '30s', target: 0 },
    ],
  },
  budgets: { p95: '5s', errorRate: 0.001 },
});

/** CRUD reads: p95 < 200 ms (seeds: GET /api/notes, GET /api/notes/{id}). */
export const notesRead = defineSlo({
  id: 'seed-notes-read',
  endpoint: { method: 'GET', path: '/api/notes/:id', request: (i) => ({ path: `/api/notes/${1 + (i % 100)}` }) },
  load: { kind: 'burst', vus: 10, duration: '5m' },
  budgets: { p95: 200, errorRate: 0.001 },
  profiles: {
    smoke: { load: { kind: 'burst', vus: 1, duration: '30s' } },
    stress: { load: { kind: 'burst', vus: 50, duration: '2m' } },
  },
});

/** CRUD writes: p95 < 500 ms, error rate < 0.1 % (the seeds' `rate<0.001`). */
export const notesWrite = defineSlo({
  id: 'seed-notes-write',
  endpoint: {
    method: 'POST',
    path: '/api/notes',
    expectStatus: 201,
    request: (i) => ({ body: { title: `note ${i}`, content: 'load test' } }),
  },
  load: { kind: 'burst', vus: 10, duration: '5m' },
  budgets: { p95: 500, errorRate: 0.001 },
  profiles: {
    smoke: { load: { kind: 'burst', vus: 1, duration: '30s' } },
    stress: { load: { kind: 'burst', vus: 50, duration: '2m' } },
  },
});

export const seedSlos = [matchTop, outreachStart, auditRun, notesRead, notesWrite];
