/**
 * The verdict scale: one table from finding code (pattern) to its class, applied to every
 * finding in `finalize`, so the checks that build findings do not each decide what a class
 * means. First match wins; a code the table does not list keeps the check's own verdict.
 * A family is a wildcard only where the issue defines the whole family's class (drift, backup,
 * restore, recorded history: FAIL; lint: WARN); elsewhere each code is listed.
 *
 * - FAIL: the deploy will fail, or the repository or the backups are inconsistent.
 * - UNSAFE: the deploy succeeds but harms production (blocking locks, rewrites, lost data).
 * - WARN: a human should look.
 * - INFO: information only; never raises a check or the run above SAFE.
 * - SAFE: measured and fine.
 *
 * A finding the measurement refuted (a lint guess with `evidence.refutedBy`) stays SAFE.
 */
import type { Finding, FindingVerdict } from './types.ts';

/** Whether `pattern` (`code`, `code:target` or `code:migration`, `*` matches anything) matches the finding. */
export function matches(pattern: string, finding: Finding): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  const keys = [finding.code, `${finding.code}:${finding.target ?? ''}`];
  if (finding.migration) keys.push(`${finding.code}:${finding.migration}`);
  return keys.some((k) => re.test(k));
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** One row of the scale. */
export interface ScaleRule {
  /** `code` pattern, `*` wildcards (as in allow/failOn). */
  code: string;
  level: FindingVerdict;
  /** Why the code is in this class, one line (docs/migration-smoke.md shows the same table). */
  why: string;
}

/** The built-in scale, first match wins. `severity` (`--severity`, env SHIPGATE_SMOKE_SEVERITY) overrides it per pattern. */
export const SCALE: readonly ScaleRule[] = [
  // The deploy fails.
  { code: 'apply/failed', level: 'FAIL', why: 'a migration does not apply' },
  { code: 'apply/base-failed', level: 'FAIL', why: 'the base migrations do not apply' },
  { code: 'apply/lock-timeout-debris', level: 'FAIL', why: 'a lock_timeout abort left an INVALID index or a relation' },
  { code: 'apply/lock-timeout', level: 'WARN', why: 'a lock_timeout abort that rolled back cleanly: retry needed' },
  { code: 'apply/history-warning', level: 'WARN', why: 'the migrator warned about the recorded history' },
  { code: 'recorded/retry-needed', level: 'WARN', why: 'the failed row of a clean lock_timeout abort' },
  { code: 'recorded/pending', level: 'WARN', why: 'not applied yet: the apply stopped at a clean lock_timeout' },
  { code: 'recorded/*', level: 'FAIL', why: 'the next `migrate deploy` stops (P3009) or the history is incomplete' },
  // The repository is inconsistent.
  { code: 'drift/*', level: 'FAIL', why: 'schema.prisma and the migrations disagree' },
  { code: 'history/edited', level: 'FAIL', why: 'an applied migration was edited: production never re-runs it' },
  { code: 'history/missing', level: 'FAIL', why: 'an applied migration was removed' },
  { code: 'history/unreadable', level: 'FAIL', why: 'an applied migration has no readable migration.sql' },
  { code: 'history/lockfile-changed', level: 'FAIL', why: 'migration_lock.toml changed' },
  { code: 'history/line-endings', level: 'SAFE', why: "Prisma's checksum accepts line-ending changes" },
  { code: 'history/non-linear', level: 'WARN', why: 'a new migration sorts before the applied ones' },
  { code: 'history/lockfile-removed', level: 'WARN', why: 'Prisma can no longer check the provider' },
  // Backups and restores do not work.
  {
    code: 'backup/no-matching-pg-dump',
    level: 'WARN',
    why: 'pg_dump of the server major absent: template-copy fallback',
  },
  { code: 'backup/*', level: 'FAIL', why: 'the backup cannot be taken' },
  {
    code: 'restore/target-not-used',
    level: 'WARN',
    why: 'the configured restore target could not be used; restored on the smoke server',
  },
  {
    code: 'restore-after/target-not-used',
    level: 'WARN',
    why: 'the configured restore target could not be used; restored on the smoke server',
  },
  { code: 'restore/*', level: 'FAIL', why: 'the pre-migration backup does not restore' },
  { code: 'restore-after/*', level: 'FAIL', why: 'the migrated database does not survive a dump and restore' },
  // The target lacks what the database needs.
  { code: 'dependencies/role-missing', level: 'FAIL', why: 'a new migration needs a role the target lacks' },
  { code: 'dependencies/extension-missing', level: 'FAIL', why: 'a new migration needs an extension the target lacks' },
  {
    code: 'dependencies/base-needs-missing',
    level: 'WARN',
    why: 'the base already needs a role or extension the target lacks',
  },
  { code: 'dependencies/role-created', level: 'WARN', why: 'a migration creates a cluster role: no dump carries it' },
  {
    code: 'dependencies/undeclared',
    level: 'INFO',
    why: "the database's roles and extensions, when production's are not declared",
  },
  // The deploy succeeds but harms production.
  { code: 'locks/table-rewrite', level: 'UNSAFE', why: 'a populated table rewritten under ACCESS EXCLUSIVE' },
  { code: 'locks/index-rebuild', level: 'UNSAFE', why: "a populated table's indexes rebuilt under a blocking lock" },
  {
    code: 'locks/blocking-index-build',
    level: 'UNSAFE',
    why: 'an index built without CONCURRENTLY on a populated table',
  },
  { code: 'locks/long-blocking-lock', level: 'UNSAFE', why: 'a write-blocking lock held past lockBudgetMs' },
  {
    code: 'locks/blocking-scan',
    level: 'UNSAFE',
    why: 'a validation scan under a write-blocking lock, past lockBudgetMs at production size',
  },
  {
    code: 'locks/scan-at-seed-volume',
    level: 'WARN',
    why: 'a scan under a write-blocking lock judged at seed volume only (no production size)',
  },
  {
    code: 'locks/within-budget-at-production',
    level: 'INFO',
    why: 'a scan, build or rewrite under a write-blocking lock, within budget at production size',
  },
  { code: 'locks/unindexed-foreign-key', level: 'WARN', why: 'a foreign key left without a supporting index' },
  { code: 'locks/lock-wait', level: 'WARN', why: 'the migration waited for a lock other sessions held' },
  {
    code: 'locks/table-emptied',
    level: 'WARN',
    why: 'a table emptied (TRUNCATE): a brief lock that does not grow; the rows lost are data/rows-lost',
  },
  { code: 'data/rows-lost', level: 'UNSAFE', why: 'rows lost' },
  { code: 'data/values-changed', level: 'UNSAFE', why: 'values silently changed' },
  { code: 'data/column-dropped', level: 'UNSAFE', why: 'the values of a dropped column lost' },
  { code: 'data/table-dropped', level: 'UNSAFE', why: 'a table with rows dropped' },
  { code: 'data/column-moved', level: 'SAFE', why: 'every value of a dropped column reappears in a new one' },
  { code: 'data/not-compared', level: 'WARN', why: 'a table could not be compared' },
  { code: 'invariants/invalid-index', level: 'FAIL', why: 'debris of a failed CONCURRENTLY build' },
  { code: 'invariants/sequence-behind', level: 'UNSAFE', why: 'the next inserts fail with duplicate keys' },
  {
    code: 'replay/query-breaks',
    level: 'UNSAFE',
    why: "the base's app breaks on the migrated schema during a rolling deploy",
  },
  { code: 'invariants/not-valid-constraint', level: 'INFO', why: 'NOT VALID constraints, listed' },
  { code: 'replay/*', level: 'INFO', why: 'recorded statements that say nothing, truncated or stopped replays' },
  // A human should look.
  { code: 'lint/*', level: 'WARN', why: "squawk's static guess (SAFE when the measurement refutes it)" },
];

/** A user's `pattern=LEVEL` rule. */
export interface SeverityRule {
  pattern: string;
  level: FindingVerdict;
}

/** The levels `severity` accepts, worst first. */
export const LEVELS: readonly FindingVerdict[] = ['FAIL', 'UNSAFE', 'WARN', 'INFO', 'SAFE'];

/** The scale's class for `finding`, or undefined when the table does not list its code. */
export function scaleLevel(finding: Finding, scale: readonly ScaleRule[] = SCALE): FindingVerdict | undefined {
  return scale.find((r) => matches(r.code, finding))?.level;
}

/** Whether the measurement refuted the finding (it then stays SAFE whatever the scale says). */
export function refuted(finding: Finding): boolean {
  return finding.verdict === 'SAFE' && finding.evidence?.refutedBy !== undefined;
}

/**
 * Sets every finding's class: the scale first, then the first matching user rule (recorded in
 * `severity`). Refuted findings stay SAFE.
 */
export function applyScale(findings: Iterable<Finding>, rules: readonly SeverityRule[]): void {
  for (const f of findings) {
    if (refuted(f)) continue;
    const level = scaleLevel(f);
    if (level) f.verdict = level;
    const rule = rules.find((r) => matches(r.pattern, f));
    if (rule) {
      f.verdict = rule.level;
      f.severity = `${rule.pattern}=${rule.level}`;
    }
  }
}

/** Parses `pattern=LEVEL` entries (each may be a comma list); `source` names the flag, key or env var in problems. */
export function parseSeverity(
  entries: readonly string[],
  source: string,
): { rules: SeverityRule[]; problems: string[] } {
  const rules: SeverityRule[] = [];
  const problems: string[] = [];
  const allowed = LEVELS.join(', ');
  for (const entry of entries.flatMap((e) => e.split(','))) {
    const item = entry.trim();
    if (!item) continue;
    const at = item.lastIndexOf('=');
    const pattern = at > 0 ? item.slice(0, at).trim() : '';
    const level = (at > 0 ? item.slice(at + 1).trim() : '').toUpperCase();
    if (!pattern) {
      problems.push(`${source} "${item}" is not <code-pattern>=<level>, e.g. locks/*=WARN (levels: ${allowed})`);
    } else if (!(LEVELS as readonly string[]).includes(level)) {
      problems.push(
        `${source} "${item}": level "${item.slice(at + 1).trim()}" is not one of ${allowed} (e.g. ${pattern}=WARN)`,
      );
    } else rules.push({ pattern, level: level as FindingVerdict });
  }
  return { rules, problems };
}
