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
 * `client`, and finds the problems an index would fix on tables of `minRows` rows or more.
 */
export async function checkPlans(
  client: pg.ClientBase | pg.Pool,
  statements: readonly CapturedStatement[],
  options: { minRows?: number } = {},
): Promise<PlanCheck> {
  const first = new Map<string, CapturedStatement>();
  for (const s of statements) if (!s.control && !first.has(s.shape)) first.set(s.shape, s);
  const out: PlanCheck = { queries: [], notExplained: [] };
  for (const [shape, s] of first) {
    const e = await explainPlan(client, s);
    if (!e.explained) {
      out.notExplained.push({ shape, reason: e.reason });
      continue;
    }
    const stats = await tableRows(client, seqScanTables(e.plan));
    out.queries.push({ shape, problems: planProblems(e.plan, stats, options) });
  }
  return out;
}
