import { defineSlo } from '../../plugins/budget/index.ts';

/**
 * SLOs for the exit-code matrix, against a server the spec starts: `/ok` answers 200, `/error`
 * 500. The failing one fails on its error rate, which host load cannot change (a latency
 * violation on a starved host is inconclusive by design).
 */
const load = { kind: 'burst', vus: 4, duration: '0.5s' } as const;

export const exitPass = defineSlo({
  id: 'exit-pass',
  endpoint: { method: 'GET', path: '/ok' },
  load,
  budgets: { p95: 2_000, errorRate: 0.01 },
  warmup: 0,
});
export const exitFail = defineSlo({
  id: 'exit-fail',
  endpoint: { method: 'GET', path: '/error' },
  load,
  budgets: { p95: 2_000, errorRate: 0.01 },
  warmup: 0,
});
