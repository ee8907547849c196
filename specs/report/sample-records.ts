import type { ShipgateRecord } from '../../plugins/report/model.ts';

/**
 * Report inputs for the kinds whose producers live elsewhere (budgets, k6, migration smoke):
 * records in exactly the shape those adapters write. Test records come from real child runs.
 */
export function budgetRecord(over: Partial<ShipgateRecord> = {}): ShipgateRecord {
  return {
    id: 'budget › perf/example.slo.ts › GET /api/tickets',
    kind: 'budget',
    runner: 'budget',
    name: 'GET /api/tickets',
    suite: ['example reads'],
    status: 'passed',
    durationMs: 5012,
    file: 'perf/example.slo.ts',
    metrics: { p50Ms: 3.2, p95Ms: 8.9, p99Ms: 14.1, rps: 199.6, errorRate: 0, n: 1000 },
    budgets: {
      p95Ms: { value: 8.9, limit: 200, baseline: 8.1, deltaPct: 9.9, ok: true },
      p99Ms: { value: 14.1, limit: 400, baseline: 12.0, deltaPct: 17.5, ok: true },
      errorRate: { value: 0, limit: 0.001, ok: true },
    },
    evidence: { slowest: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', ms: 31.2, serverMs: 29.8 }] },
    ...over,
  };
}

export function loadRecord(over: Partial<ShipgateRecord> = {}): ShipgateRecord {
  return {
    id: 'load › perf/k6/tickets.js › tickets',
    kind: 'load',
    runner: 'k6',
    name: 'tickets (normal)',
    suite: [],
    status: 'passed',
    durationMs: 60_000,
    metrics: { p95Ms: 120.4, p99Ms: 210.9, rps: 19.9, errorRate: 0.0005 },
    ...over,
  };
}

export function migrationRecord(over: Partial<ShipgateRecord> = {}): ShipgateRecord {
  return {
    id: 'migration › prisma/migrations › 20250105000000_add_not_null › locks',
    kind: 'migration',
    runner: 'migrate-smoke',
    name: 'locks: 20250105000000_add_not_null',
    suite: ['migration smoke'],
    status: 'failed',
    durationMs: 412,
    message: 'ACCESS EXCLUSIVE on "tickets" held 380 ms; table rewritten',
    metrics: { durationMs: 412, lockHoldMs: 380, rewrites: 1 },
    evidence: { verdict: 'UNSAFE', lockMode: 'AccessExclusiveLock', relation: 'tickets', rewritten: ['tickets'] },
    ...over,
  };
}
