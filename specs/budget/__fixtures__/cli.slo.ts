import { defineSlo } from '../../../plugins/budget/index.ts';

/** SLOs for the CLI specs, measured against a server the spec starts (`/fast` 1 ms, `/slow` 20 ms). */
const load = { kind: 'burst', vus: 10, duration: '1.5s' } as const;

export const cliPass = defineSlo({
  id: 'cli-pass',
  endpoint: { method: 'GET', path: '/fast' },
  load,
  budgets: { p95: 500 },
  warmup: 0,
});
export const cliFail = defineSlo({
  id: 'cli-fail',
  endpoint: { method: 'GET', path: '/slow' },
  load,
  budgets: { p95: 5 },
  warmup: 0,
});
export const cliFew = defineSlo({
  id: 'cli-few',
  endpoint: { method: 'GET', path: '/fast' },
  load: { kind: 'rate', rps: 20, duration: '0.5s' },
  budgets: { p99: 500 },
  warmup: 0,
});
