/**
 * Restore rehearsals. The pre-migration backup is restored into a fresh database with
 * `pg_restore --exit-on-error`, compared with the snapshot and timed (the RTO evidence); with
 * no pg_dump of the server major, a copy of the template-database snapshot stands in. The
 * migrated database is dumped and restored too, so objects that break a restore are caught.
 */
import { describeError } from '../core/errors.ts';
import type { Databases, TestDatabase } from '../postgres/databases.ts';
import type { DumpArea, DumpFile } from './backup.ts';
import { check, connect, round, skipped, TITLES } from './check-kit.ts';
import { sampleBefore } from './data-check.ts';
import { compareAggregates, type TableSnapshot, takeSnapshot } from './fingerprint.ts';
import type { CheckResult, Finding } from './types.ts';

/** Where a rehearsal restores: that server's databases, its superuser URL and major. */
export interface RestoreInto {
  dbs: Databases;
  adminUrl: string;
  major: number;
  /** For the evidence. */
  label: string;
  /** Why the configured target was not used (then a WARN finding says so). */
  fallback?: string | undefined;
}

function fallbackFinding(code: string, into: RestoreInto): Finding[] {
  return into.fallback ? [{ code, verdict: 'WARN', message: into.fallback }] : [];
}

/**
 * Restores the pre-migration backup (or copies the template snapshot) and compares it with the
 * snapshot; returns the restored database too (the seeded base, unmigrated) for the checks after it.
 */
export async function restoreCheck(
  into: RestoreInto,
  area: DumpArea | undefined,
  dump: DumpFile | undefined,
  templateCopy: TestDatabase | undefined,
  snapshot: TableSnapshot[],
  /** The data check's findings: the restored base gives their before-values. */
  dataFindings: Finding[],
): Promise<{ check: CheckResult; restored?: TestDatabase }> {
  const { dbs } = into;
  if (area && !dump) return { check: skipped('restore', TITLES.restore, 'the backup failed (see the backup check)') };
  const t = performance.now();
  let restored: TestDatabase;
  let evidence: Record<string, unknown>;
  const findings: Finding[] = fallbackFinding('restore/target-not-used', into);
  if (area && dump) {
    restored = await dbs.createEmpty(1);
    const run = await area.restore(into.adminUrl, dump, restored.name);
    evidence = {
      method: 'pg_restore --exit-on-error',
      into: into.label,
      exitCode: run.exitCode,
      restoreMs: round(run.durationMs),
      bytes: dump.bytes,
    };
    if (run.exitCode !== 0) {
      findings.push({
        code: 'restore/failed',
        verdict: 'FAIL',
        message: `pg_restore --exit-on-error of the pre-migration backup into ${into.label} exited ${run.exitCode}: ${run.stderr}${missingHint(run.stderr)}`,
        evidence: { exitCode: run.exitCode, stderr: run.stderr },
      });
      return { check: check('restore', TITLES.restore, findings, evidence, performance.now() - t) };
    }
  } else {
    restored = await dbs.clone((templateCopy as TestDatabase).name, 1);
    evidence = {
      method: 'template-database copy (no pg_dump of the server major)',
      restoreMs: round(performance.now() - t),
    };
  }
  const c = await connect(restored.url);
  try {
    const problems = await compareAggregates(c, snapshot, into.major);
    evidence.compared = snapshot.length;
    if (problems.length) {
      findings.push({
        code: 'restore/differs',
        verdict: 'FAIL',
        message: `The restored backup differs from the snapshot: ${problems.slice(0, 5).join('; ')}.`,
        evidence: { problems },
      });
    }
    await sampleBefore(c, snapshot, dataFindings, into.major).catch(() => {});
  } finally {
    await c.end().catch(() => {});
  }
  return { check: check('restore', TITLES.restore, findings, evidence, performance.now() - t), restored };
}

/** Dumps and restores the migrated database and compares the copy. */
export async function restoreAfterCheck(
  into: RestoreInto,
  server: { adminUrl: string; major: number },
  area: DumpArea,
  target: TestDatabase,
): Promise<CheckResult> {
  const { dbs } = into;
  const t = performance.now();
  const c = await connect(target.url);
  let after: TableSnapshot[];
  try {
    after = await takeSnapshot(c, server.major, { side: false });
  } finally {
    await c.end().catch(() => {});
  }
  const { run: dumpRun, file } = await area.dump(server.adminUrl, target.name);
  const evidence: Record<string, unknown> = {
    dumpExitCode: dumpRun.exitCode,
    dumpMs: round(dumpRun.durationMs),
    bytes: file.bytes,
  };
  if (dumpRun.exitCode !== 0) {
    return check(
      'restore-after',
      TITLES['restore-after'],
      [
        {
          code: 'restore-after/dump-failed',
          verdict: 'FAIL',
          message: `pg_dump of the migrated database exited ${dumpRun.exitCode}: ${dumpRun.stderr}`,
          evidence: { exitCode: dumpRun.exitCode, stderr: dumpRun.stderr },
        },
      ],
      evidence,
      performance.now() - t,
    );
  }
  const restored = await dbs.createEmpty(1);
  const run = await area.restore(into.adminUrl, file, restored.name);
  Object.assign(evidence, { into: into.label, restoreExitCode: run.exitCode, restoreMs: round(run.durationMs) });
  const findings: Finding[] = fallbackFinding('restore-after/target-not-used', into);
  if (run.exitCode !== 0) {
    findings.push({
      code: 'restore-after/restore-failed',
      verdict: 'FAIL',
      message: `The migrated database does not survive pg_dump/pg_restore into ${into.label}: pg_restore --exit-on-error exited ${run.exitCode}: ${run.stderr.split('\n').slice(0, 3).join(' ')}${missingHint(run.stderr) || ' (pg_dump restores with an empty search_path, so functions and index expressions must schema-qualify what they call)'}.`,
      evidence: { exitCode: run.exitCode, stderr: run.stderr },
    });
  } else {
    const rc = await connect(restored.url);
    try {
      const problems = await compareAggregates(rc, after, into.major);
      if (problems.length)
        findings.push({
          code: 'restore-after/differs',
          verdict: 'FAIL',
          message: `The restored migrated database differs: ${problems.slice(0, 5).join('; ')}.`,
          evidence: { problems },
        });
    } finally {
      await rc.end().catch(() => {});
    }
  }
  await restored.drop().catch((err: unknown) => {
    evidence.dropError = describeError(err);
  });
  return check('restore-after', TITLES['restore-after'], findings, evidence, performance.now() - t);
}

/** A hint for the restore errors a missing role or extension causes (the dependencies check names them). */
function missingHint(stderr: string): string {
  const role = /role "([^"]+)" does not exist/.exec(stderr)?.[1];
  if (role)
    return ` (the target lacks role "${role}": roles are cluster-level and no database dump carries them; create it there first, or declare production's roles with --restore-roles)`;
  const ext = /extension "([^"]+)" is not available|could not open extension control file ".*\/([^/"]+)\.control"/.exec(
    stderr,
  );
  if (ext)
    return ` (the target cannot install extension "${ext[1] ?? ext[2]}"; install it there, or declare production's extensions with --restore-extensions)`;
  return '';
}
