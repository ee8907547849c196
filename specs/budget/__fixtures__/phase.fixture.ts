import type http from 'node:http';
import { expect, test } from 'vitest';
import { defineSlo } from '../../../plugins/budget/index.ts';
import { measure } from '../../../plugins/vitest/budget.ts';

/** Run by specs/budget/phase.test.ts in a child Vitest with the budget-phase reporter. */
const app: http.RequestListener = (_req, res) => setTimeout(() => res.end('ok'), 1);

test('met', async () => {
  const slo = defineSlo({
    id: 'phase-met',
    name: 'GET /met',
    endpoint: { method: 'GET', path: '/met' },
    load: { kind: 'burst', vus: 2, duration: '1s' },
    budgets: { p95: 1000 },
    warmup: 0,
  });
  expect(await measure(app, slo, { baselineDir: false })).toMeetBudget();
});

test('too few samples', async () => {
  const slo = defineSlo({
    id: 'phase-few',
    name: 'GET /few',
    endpoint: { method: 'GET', path: '/few' },
    load: { kind: 'rate', rps: 20, duration: '0.5s' },
    budgets: { p99: 1000 },
    warmup: 0,
  });
  expect(await measure(app, slo, { baselineDir: false })).toMeetBudget();
});

test('crashes before measuring', () => {
  throw new Error('the fixture could not start');
});
