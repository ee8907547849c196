import { expect, test } from 'shipgate/vitest';
import { defineSlo, measure } from 'shipgate/vitest/budget';

// A performance budget on the app's own route: an open-loop rate, its p95 and error rate.
const listUsers = defineSlo({
  id: 'users-list',
  endpoint: { method: 'GET', path: '/users' },
  load: { kind: 'rate', rps: 100, duration: '3s' },
  budgets: { p95: 1_000, errorRate: 0.01 },
  warmup: 0,
});

test('GET /users meets its budget', async ({ app }) => {
  expect(await measure(app, listUsers)).toMeetBudget();
});
