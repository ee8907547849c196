/**
 * The readable summary of a smoke result: the verdict line, then findings worst first (FAIL,
 * UNSAFE, WARN; SAFE findings are left out), information (INFO findings, shown as `info`),
 * skipped checks with their reasons, one line per check, and the step timings. Pure: result
 * in, text out.
 */
import type { CheckResult, Finding, SmokeResult } from './types.ts';
import { rank } from './verdict.ts';

const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

/** One line for a finding. */
export function formatFinding(f: Finding, check: CheckResult): string {
  const tags = [
    f.severity ? `severity "${f.severity}"` : '',
    f.allowed ? `allowed by "${f.allowed}"` : '',
    f.failsRun ? `fails the run: "${f.failsRun}"` : '',
  ].filter(Boolean);
  const label = f.verdict === 'INFO' ? 'info' : f.verdict;
  return `  ${label.padEnd(6)} ${check.id.padEnd(13)} ${f.message}${tags.length ? ` [${tags.join('; ')}]` : ''}`;
}

/** The summary, ending with a newline. */
export function renderSmokeSummary(result: SmokeResult): string {
  const lines: string[] = [];
  const rows = result.seed ? result.seed.tables.reduce((s, t) => s + t.rows, 0) : 0;
  lines.push(
    `shipgate migrate smoke: ${result.verdict} (exit ${result.exitCode}) — ${result.newMigrations.length} new migration(s) over ${result.base.label}${result.base.commit ? ` (${result.base.commit.slice(0, 12)})` : ''}, Postgres ${result.server.version} (${result.server.provider}), ${rows} seeded rows, ${ms(result.durationMs)}`,
  );
  lines.push(
    `  settings: TimeZone=${result.settings.timeZone} lock_timeout=${result.settings.lockTimeout} statement_timeout=${result.settings.statementTimeout}; migrator ${result.migrator}`,
  );
  const shown = result.checks.flatMap((c) => c.findings.filter((f) => f.verdict !== 'SAFE').map((f) => ({ f, c })));
  // An INFO finding a failOn pattern matched fails the run, so it is a finding, not information.
  const isInfo = (f: Finding) => f.verdict === 'INFO' && !f.failsRun;
  const findings = shown
    .filter(({ f }) => !isInfo(f))
    .sort((a, b) => rank(b.f.verdict) - rank(a.f.verdict) || Number(!!b.f.failsRun) - Number(!!a.f.failsRun));
  if (findings.length) {
    lines.push('', 'findings, worst first:');
    for (const { f, c } of findings) lines.push(formatFinding(f, c));
  }
  const info = shown.filter(({ f }) => isInfo(f));
  if (info.length) {
    lines.push('', 'information (does not affect the verdict):');
    for (const { f, c } of info) lines.push(formatFinding(f, c));
  }
  const skipped = result.checks.filter((c) => c.verdict === 'SKIPPED');
  if (skipped.length) {
    lines.push('', 'skipped:');
    for (const c of skipped) lines.push(`  ${c.id.padEnd(13)} ${c.reason}`);
  }
  const worstFiles = [...result.files].sort((a, b) => b.durationMs - a.durationMs).slice(0, 5);
  if (worstFiles.length) {
    lines.push('', 'files:');
    for (const f of worstFiles) {
      const lock = f.locks.find((l) => l.existed);
      const parts = [
        ms(f.durationMs),
        f.walBytes !== null ? `WAL ${f.walBytes} B` : '',
        lock ? `${lock.mode} on ${lock.relation} ${ms(lock.holdMs)}` : 'no lock on existing tables',
        f.rewritten.length ? `rewrote ${f.rewritten.map((r) => r.relation).join(', ')}` : '',
        f.error ? `FAILED ${f.error.sqlstate ?? ''}` : '',
      ].filter(Boolean);
      lines.push(`  ${f.migration}: ${parts.join(' · ')}`);
    }
  }
  lines.push('', `checks: ${result.checks.map((c) => `${c.id} ${c.verdict}`).join(' · ')}`);
  lines.push(`steps: ${result.steps.map((s) => `${s.step} ${ms(s.durationMs)}`).join(' · ')}`);
  return `${lines.join('\n')}\n`;
}
