/** Migration smoke: proves Prisma migrations on a seeded throwaway Postgres. `migrationSmoke(options)` runs it. */

/** Options; every key lists its default and env var (SHIPGATE_SMOKE_*). */
export { DEFAULT_SQUAWK_EXCLUDES, resolveSmokeOptions, SEED_VOLUMES, type SmokeOptions } from './options.ts';
export { PgDumpError } from './pg-tools.ts';
/** `smokeRecords(result, root?)`: one unified-report record per check (kind `migration`, runner `migrate-smoke`). */
export { smokeRecords } from './records.ts';
/** `renderSmokeSummary(result)`: the readable summary, worst findings first; no options. */
export { formatFinding, renderSmokeSummary } from './render.ts';
/** `migrationSmoke(options)`: runs the smoke, resolves with a plain-JSON `SmokeResult`; throws a ShipgateError on bad input. */
export { migrationSmoke } from './smoke.ts';
/** Bad sources (`SHIPGATE_SMOKE_SOURCE`) and pg_dump version mismatches (`SHIPGATE_SMOKE_PG_DUMP`). */
export { SmokeSourceError } from './sources.ts';
/** The result model. */
export type {
  CheckId,
  CheckResult,
  CheckVerdict,
  FileEvidence,
  Finding,
  LockEvidence,
  ProbeEvidence,
  SmokeResult,
  Verdict,
} from './types.ts';
/** `finalize`/`matches`: the allow/failOn policy and exit code (0 SAFE/WARN, 2 otherwise); no env vars. */
export { finalize, matches } from './verdict.ts';
