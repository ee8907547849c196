import { fullName, keyNumbers, statusLabel, summaryLine, worstFirst } from '../summary.ts';
import type { Sink } from './sink.ts';

const MAX_LISTED = 30;

/**
 * The console summary: failures and other noteworthy results first, with the numbers that
 * matter; the last line is `shipgate: N passed, N failed, N skipped`, which CI parses.
 */
export const consoleSink: Sink = {
  name: 'console',
  render(report, { counts, write }) {
    const lines: string[] = [''];
    const notable = worstFirst(report.records).filter(
      (r) => (r.status !== 'passed' && r.status !== 'skipped') || r.regression,
    );
    if (notable.length) lines.push('shipgate: results that need attention');
    for (const r of notable.slice(0, MAX_LISTED)) {
      const where = r.file ? `  (${r.file}${r.line ? `:${r.line}` : ''})` : '';
      lines.push(`  ✗ [${r.kind}] ${statusLabel(r)}: ${fullName(r)}${where}`);
      const numbers = keyNumbers(r);
      if (numbers) lines.push(`      ${numbers}`);
      if (r.message) lines.push(`      ${r.message.split('\n')[0]?.slice(0, 300)}`);
    }
    if (notable.length > MAX_LISTED) lines.push(`  … ${notable.length - MAX_LISTED} more in report.json`);
    for (const e of report.errors) lines.push(`  ✗ error in ${e.source}: ${e.message.split('\n')[0]}`);
    for (const e of report.reporterErrors) lines.push(`  ! reporter error (${e.sink}): ${e.message}`);
    const byKind = new Map<string, number>();
    for (const r of report.records) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
    const kinds = [...byKind].map(([k, n]) => `${n} ${k}`).join(', ');
    const extra = [
      counts.flaky && `${counts.flaky} flaky`,
      counts.inconclusive && `${counts.inconclusive} inconclusive`,
      counts.regressions && `${counts.regressions} regression${counts.regressions > 1 ? 's' : ''}`,
    ].filter(Boolean);
    lines.push(
      `shipgate: ${kinds || 'no records'}${extra.length ? `; ${extra.join(', ')}` : ''}; exit code ${counts.exitCode}`,
    );
    lines.push(summaryLine(counts));
    write(`${lines.join('\n')}\n`);
  },
};
