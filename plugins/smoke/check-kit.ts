/**
 * Building blocks of the smoke's checks: a check from findings, a skipped check with its
 * reason, the check titles, the apply check, and the connections the smoke opens.
 */
import pg from 'pg';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import type { ApplyFailure } from './apply.ts';
import type { CheckId, CheckResult, FileEvidence, Finding, SmokeResult } from './types.ts';
import { checkVerdict } from './verdict.ts';

/** Rounds ms to 0.1. */
export const round = (ms: number) => Math.round(ms * 10) / 10;

/** A check whose verdict is its worst finding. */
export function check(
  id: CheckId,
  title: string,
  findings: Finding[],
  evidence: Record<string, unknown>,
  durationMs = 0,
): CheckResult {
  return { id, title, verdict: checkVerdict(findings), durationMs: round(durationMs), findings, evidence };
}

/** A check that could not run, with the reason. */
export function skipped(id: CheckId, title: string, reason: string): CheckResult {
  return { id, title, verdict: 'SKIPPED', reason, durationMs: 0, findings: [], evidence: {} };
}

/** A client for the smoke's own queries (errors of a dropped connection are ignored). */
export async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ ...pgConnectOptions(), connectionString: url, application_name: 'shipgate:smoke' });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Check titles, as the summary and the records show them. */
export const TITLES: Record<Exclude<CheckId, 'history' | 'lint'>, string> = {
  apply: 'Apply under production-like settings',
  locks: 'Locks and rewrites',
  recorded: 'Migrations recorded',
  data: 'Data lost or changed',
  invariants: 'Invariants (indexes, sequences, constraints)',
  drift: 'Drift against schema.prisma',
  dependencies: 'Roles and extensions the restore target needs',
  replay: 'Old code on the new schema (base queries replayed)',
  backup: 'Backup (pg_dump -Fc)',
  restore: 'Restore rehearsal (pre-migration backup)',
  'restore-after': 'Dump and restore after migration',
};

/** `[findings, evidence]` of a sub-check, for `check(id, title, ...spread(x))`. */
export const spread = (r: { findings: Finding[]; evidence: Record<string, unknown> }) =>
  [r.findings, r.evidence] as const;

/** Ends other sessions on `database` (a template copy needs the source free). */
export async function terminate(adminUrl: string, database: string): Promise<void> {
  const c = await connect(adminUrl);
  try {
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
  } finally {
    await c.end().catch(() => {});
  }
}

/** The apply check: the failure with its SQLSTATE, statement and lock wait, and the migrator's history warnings. */
export function applyCheck(
  failure: ApplyFailure | undefined,
  warnings: string[],
  files: FileEvidence[],
  settings: SmokeResult['settings'],
): CheckResult {
  const findings: Finding[] = warnings.map((w) => ({
    code: 'apply/history-warning',
    verdict: 'WARN' as const,
    message: w,
    ...(/Migration "([^"]+)"/.exec(w)?.[1]
      ? {
          migration: /Migration "([^"]+)"/.exec(w)?.[1] as string,
          target: /Migration "([^"]+)"/.exec(w)?.[1] as string,
        }
      : {}),
  }));
  if (failure) {
    const timeout =
      failure.sqlstate === '55P03'
        ? ` (lock_timeout ${settings.lockTimeout})`
        : failure.sqlstate === '57014'
          ? ` (statement_timeout ${settings.statementTimeout})`
          : '';
    const subject = failure.migration ? `Migration "${failure.migration}"` : 'The head apply';
    const outcome = failure.refusedBy
      ? `was refused before it ran, by ${failure.refusedBy}`
      : failure.sqlstate
        ? `failed with SQLSTATE ${failure.sqlstate}${timeout}`
        : 'failed without a SQLSTATE (the error is not from Postgres)';
    const line = failure.line ? ` (statement at line ${failure.line})` : '';
    const role = /role "([^"]+)" does not exist/.exec(failure.message)?.[1];
    const roleHint = role
      ? ` Roles are cluster-level: if production has "${role}", declare it (--restore-roles, env SHIPGATE_SMOKE_RESTORE_ROLES) and the smoke creates it; if not, create it there before this deploy.`
      : '';
    findings.push({
      code: 'apply/failed',
      verdict: 'FAIL',
      ...(failure.migration ? { migration: failure.migration, target: failure.migration } : {}),
      message: `${subject} ${outcome}: ${failure.message}${line}${failure.refusedBy ? '; none of its statements ran.' : `; it waited ${failure.lockWaitMs} ms for locks before failing.`}${roleHint}`,
      evidence: { ...failure },
    });
  }
  return check('apply', TITLES.apply, findings, {
    applied: files.filter((f) => !f.error).map((f) => f.migration),
    durationMs: round(files.reduce((s, f) => s + f.durationMs, 0)),
    walBytes: files.reduce((s, f) => s + (f.walBytes ?? 0), 0),
    settings,
  });
}
