import type pg from 'pg';
import { explainPlan, type PlannedQuery, planProblems, seqScanTables, tableRows } from './plans.ts';
import type { CapturedStatement } from './wire-tap.ts';

/** What {@link checkPlans} found: each explained shape with its problems, and what it could not explain. */
export interface PlanCheck {
  queries: PlannedQuery[];
  notExplained: { shape: string; reason: string }[];
}

/**
 * Explains the first statement of each shape in `statements` (control statements left out) on
 * a client of `pool`, and finds the problems an index would fix on tables of `minRows` rows or
 * more. Each EXPLAIN runs in a transaction of its own, rolled back: one that fails (a
 * parameter whose type Postgres cannot infer, a temporary table of the app's session) leaves
 * nothing behind. In rollback isolation the pool's BEGIN and ROLLBACK are savepoints, so the
 * test's own transaction is not aborted either.
 */
export async function checkPlans(
  pool: pg.Pool,
  statements: readonly CapturedStatement[],
  options: { minRows?: number } = {},
): Promise<PlanCheck> {
  const first = new Map<string, CapturedStatement>();
  for (const s of statements) if (!s.control && !first.has(s.shape)) first.set(s.shape, s);
  const out: PlanCheck = { queries: [], notExplained: [] };
  if (first.size === 0) return out;
  const client = await pool.connect();
  try {
    for (const [shape, s] of first) {
      await client.query('BEGIN');
      try {
        const e = await explainPlan(client, s);
        if (!e.explained) {
          out.notExplained.push({ shape, reason: e.reason });
          continue;
        }
        const stats = await tableRows(client, seqScanTables(e.plan));
        out.queries.push({ shape, problems: planProblems(e.plan, stats, options) });
      } finally {
        await client.query('ROLLBACK');
      }
    }
  } finally {
    client.release();
  }
  return out;
}
