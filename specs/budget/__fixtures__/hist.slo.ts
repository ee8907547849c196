import { defineSlo } from '../../../plugins/budget/index.ts';

// For specs/budget/server-histogram.test.ts: 300 evenly spaced requests to a 20 ms endpoint.
export const slow = defineSlo({
  id: 'hist-slow',
  name: 'GET /slow',
  endpoint: { method: 'GET', path: '/slow?probe=1' },
  load: { kind: 'rate', rps: 100, duration: '3s' },
  budgets: { p95: 500, errorRate: 0.01 },
  warmup: 0,
});
