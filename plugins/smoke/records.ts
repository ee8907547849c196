/**
 * Smoke results as unified-report records: one record per check, kind `migration`, runner
 * `migrate-smoke`. SAFE and WARN pass (a WARN carries evidence.verdict = 'WARN'), UNSAFE and
 * FAIL fail, a WARN matched by `failOn` fails, SKIPPED is skipped with its reason.
 */
import type { RecordStatus, ShipgateRecord } from '../report/model.ts';
import { recordId } from '../report/records.ts';
import type { CheckResult, SmokeResult } from './types.ts';
import { rank } from './verdict.ts';

function status(check: CheckResult): RecordStatus {
  if (check.verdict === 'SKIPPED') return 'skipped';
  if (check.verdict === 'UNSAFE' || check.verdict === 'FAIL') return 'failed';
  return check.findings.some((f) => f.failsRun) ? 'failed' : 'passed';
}

/** Numbers worth trending per check. */
function metrics(check: CheckResult, result: SmokeResult): Record<string, number> {
  const m: Record<string, number> = { findings: check.findings.filter((f) => f.verdict !== 'SAFE').length };
  const e = check.evidence;
  if (check.id === 'locks') {
    m.maxBlockingHoldMs = Number(e.maxBlockingHoldMs ?? 0);
    m.rewrites = (e.rewritten as unknown[] | undefined)?.length ?? 0;
  }
  if (check.id === 'apply') {
    m.applyMs = Number(e.durationMs ?? 0);
    m.walBytes = Number(e.walBytes ?? 0);
  }
  if (check.id === 'restore' && typeof e.restoreMs === 'number') m.restoreMs = e.restoreMs;
  if (check.id === 'restore-after' && typeof e.restoreMs === 'number') m.restoreMs = e.restoreMs;
  if (check.id === 'data') {
    m.rowsLost = check.findings
      .filter((f) => f.code === 'data/rows-lost')
      .reduce((s, f) => s + Number(f.evidence?.lost ?? 0), 0);
    m.valuesChanged = check.findings
      .filter((f) => f.code === 'data/values-changed')
      .reduce((s, f) => s + Number(f.evidence?.changed ?? 0), 0);
  }
  if (check.id === 'backup' && typeof e.bytes === 'number') m.backupBytes = e.bytes;
  if (check.id === 'history') m.newMigrations = result.newMigrations.length;
  return m;
}

/**
 * One measurement record per applied migration file (`apply: <name>`), for trends and the HTML
 * report's chart: duration, the longest lock hold, rewritten relations and WAL. It fails when
 * an UNSAFE or FAIL finding names that migration, so the verdict and the numbers stay together.
 */
function fileRecords(result: SmokeResult, file: string, suite: string[]): ShipgateRecord[] {
  return result.files.map((f) => {
    const bad = result.checks
      .flatMap((c) => c.findings)
      .filter((x) => x.migration === f.migration && (x.verdict === 'UNSAFE' || x.verdict === 'FAIL') && !x.allowed);
    const strongest = [...f.locks].sort((a, b) => b.holdMs - a.holdMs)[0];
    return {
      id: recordId('migration', file, suite, `apply: ${f.migration}`),
      kind: 'migration',
      runner: 'migrate-smoke',
      name: `apply: ${f.migration}`,
      suite,
      status: f.error || bad.length ? 'failed' : 'passed',
      durationMs: f.durationMs,
      file,
      metrics: {
        durationMs: f.durationMs,
        lockHoldMs: strongest?.holdMs ?? 0,
        rewrites: f.rewritten.length,
        ...(f.walBytes !== null ? { walBytes: f.walBytes } : {}),
      },
      evidence: {
        verdict: f.error ? 'FAIL' : bad.length ? 'UNSAFE' : 'SAFE',
        strongestLock: strongest
          ? { mode: strongest.mode, relation: strongest.relation, holdMs: strongest.holdMs }
          : null,
        rewritten: f.rewritten.map((r) => r.relation),
        ...(f.error ? { error: f.error } : {}),
      },
      ...(f.error
        ? { message: `${f.error.sqlstate ?? ''} ${f.error.message}`.trim() }
        : bad[0]
          ? { message: bad[0].message }
          : {}),
    };
  });
}

/** One record per check. `file` is the head migrations folder relative to `root` (default cwd). */
export function smokeRecords(result: SmokeResult, root = process.cwd()): ShipgateRecord[] {
  const file = result.head.label.startsWith(root) ? result.head.label.slice(root.length + 1) || '.' : result.head.label;
  const suite = ['migrate smoke'];
  const checks = result.checks.map((check) => {
    const worst = [...check.findings].sort((a, b) => rank(b.verdict) - rank(a.verdict))[0];
    const record: ShipgateRecord = {
      id: recordId('migration', file, suite, check.id),
      kind: 'migration',
      runner: 'migrate-smoke',
      name: check.title,
      suite,
      status: status(check),
      durationMs: check.durationMs,
      file,
      metrics: metrics(check, result),
      evidence: { verdict: check.verdict, check: check.id, findings: check.findings, ...check.evidence },
    };
    if (check.verdict === 'SKIPPED' && check.reason) record.message = check.reason;
    else if (worst && worst.verdict !== 'SAFE') record.message = worst.message;
    return record;
  });
  return [...checks, ...fileRecords(result, file, suite)];
}
