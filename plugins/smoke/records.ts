/**
 * Smoke results as unified-report records: one record per check, kind `migration`, runner
 * `migrate-smoke`. SAFE and WARN pass (a WARN carries evidence.verdict = 'WARN'), UNSAFE and
 * FAIL fail, a WARN matched by `failOn` fails, SKIPPED is skipped with its reason. INFO findings
 * are information: the check passes, its message starts with `info:` and `metrics.info` counts them.
 */
import type { RecordStatus, ShipgateRecord } from '../report/model.ts';
import { recordId } from '../report/records.ts';
import type { CheckResult, SmokeResult } from './types.ts';
import { rank, worst } from './verdict.ts';

function status(check: CheckResult): RecordStatus {
  if (check.verdict === 'SKIPPED') return 'skipped';
  if (check.verdict === 'UNSAFE' || check.verdict === 'FAIL') return 'failed';
  return check.findings.some((f) => f.failsRun) ? 'failed' : 'passed';
}

/** Numbers worth trending per check. */
function metrics(check: CheckResult, result: SmokeResult): Record<string, number> {
  const m: Record<string, number> = {
    findings: check.findings.filter((f) => f.verdict !== 'SAFE' && f.verdict !== 'INFO').length,
  };
  const info = check.findings.filter((f) => f.verdict === 'INFO').length;
  if (info > 0) m.info = info;
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
 * A file that failed takes its apply finding's class: a clean lock_timeout abort is WARN (retry).
 */
function fileRecords(result: SmokeResult, file: string, suite: string[]): ShipgateRecord[] {
  return result.files.map((f) => {
    const bad = result.checks
      .flatMap((c) => c.findings)
      .filter((x) => x.migration === f.migration && (x.verdict === 'UNSAFE' || x.verdict === 'FAIL') && !x.allowed);
    const strongest = [...f.locks].sort((a, b) => b.holdMs - a.holdMs)[0];
    const applied = result.checks
      .find((c) => c.id === 'apply')
      ?.findings.find((x) => x.migration === f.migration && x.code !== 'apply/history-warning');
    const verdict = bad.length
      ? worst(bad.map((x) => x.verdict))
      : f.error
        ? worst([applied?.verdict ?? 'FAIL'])
        : 'SAFE';
    return {
      id: recordId('migration', file, suite, `apply: ${f.migration}`),
      kind: 'migration',
      runner: 'migrate-smoke',
      name: `apply: ${f.migration}`,
      suite,
      status: verdict === 'UNSAFE' || verdict === 'FAIL' ? 'failed' : 'passed',
      durationMs: f.durationMs,
      file,
      metrics: {
        durationMs: f.durationMs,
        lockHoldMs: strongest?.holdMs ?? 0,
        rewrites: f.rewritten.length,
        ...(f.walBytes !== null ? { walBytes: f.walBytes } : {}),
      },
      evidence: {
        verdict,
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
    const top = [...check.findings].sort((a, b) => rank(b.verdict) - rank(a.verdict))[0];
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
    else if (top?.verdict === 'INFO') record.message = `info: ${top.message}`;
    else if (top && top.verdict !== 'SAFE') record.message = top.message;
    return record;
  });
  return [...checks, ...fileRecords(result, file, suite)];
}
