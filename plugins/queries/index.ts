/**
 * Query capture and checks, below the ORM: a wire tap in front of the test's database reads
 * every statement any client sends (wire-tap.ts), a ledger gives each to the request that
 * caused it (ledger.ts), findings.ts says what repeated, and plans.ts which plans lack an
 * index. Framework-free; the Vitest matchers and fixtures live in plugins/vitest/queries.ts
 * and fixtures/vitest.ts.
 */
export {
  type AllowedShape,
  briefShape,
  formatShapes,
  QueryCheckError,
  repeatedMessage,
  repeatedShapes,
  requestName,
  toMatcher,
} from './findings.ts';
export { newTraceId, RequestLedger, type RequestQueries, traceparentFor } from './ledger.ts';
export { checkPlans, type PlanCheck } from './plan-check.ts';
export {
  DEFAULT_MIN_ROWS,
  type Explained,
  explainPlan,
  filterColumns,
  formatPlanProblems,
  PlanCheckError,
  type PlanNode,
  type PlannedQuery,
  type PlanProblem,
  planProblems,
  seqScanTables,
  tableRows,
} from './plans.ts';
export { isControl, shapeOf, traceIdOf } from './shape.ts';
export { viaTap } from './tapped-database.ts';
export { type CapturedStatement, QueryCaptureError, type QueryTap, startQueryTap } from './wire-tap.ts';
