import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { envValue } from '../../core/settings.ts';
import type { MergedReport } from '../merge.ts';
import type { ShipgateRecord } from '../model.ts';
import {
  type Counts,
  delta,
  fullName,
  keyNumbers,
  metric,
  queryCheckRows,
  statusLabel,
  worstFirst,
} from '../summary.ts';
import type { Sink } from './sink.ts';

/**
 * `summary.md`, for `$GITHUB_STEP_SUMMARY` and the PR comment. GitHub rejects comments over
 * 65,536 characters, so sections are added in priority order and whatever does not fit is cut
 * with a pointer to the full report.
 */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** Marker the PR-comment step uses to find and update its one comment. */
export const COMMENT_MARKER = '<!-- shipgate-report -->';

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const icon = (r: ShipgateRecord) =>
  r.status === 'failed'
    ? '❌'
    : r.status === 'inconclusive'
      ? '❔'
      : r.regression
        ? '📉'
        : r.status === 'flaky'
          ? '🔁'
          : r.status === 'skipped'
            ? '⏭️'
            : '✅';

function header(report: MergedReport, c: Counts): string {
  const verdict = c.exitCode === 0 ? '✅ passed' : `❌ failed (exit code ${c.exitCode})`;
  const extra = [
    c.flaky && `${c.flaky} flaky`,
    c.inconclusive && `${c.inconclusive} inconclusive`,
    c.regressions && `${c.regressions} regressions`,
    c.errors && `${c.errors} run errors`,
  ].filter(Boolean);
  const meta = [
    report.commit && `commit \`${report.commit.slice(0, 12)}\``,
    report.schemaVersion && `schema \`${report.schemaVersion.slice(0, 12)}\``,
  ]
    .filter(Boolean)
    .join(' · ');
  return [
    COMMENT_MARKER,
    `## shipgate ${verdict}`,
    '',
    `**${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped**${extra.length ? ` · ${extra.join(' · ')}` : ''}${meta ? ` · ${meta}` : ''}`,
    '',
  ].join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** Sections in priority order; each is a title and its rows (rows can be cut). */
function sections(report: MergedReport): { title: string; head: string[]; rows: string[][]; note?: string }[] {
  const recs = worstFirst(report.records);
  const attention = recs.filter((r) => r.status === 'failed' || r.status === 'inconclusive' || r.regression);
  const budgets = recs.filter((r) => r.kind === 'budget' || r.kind === 'load');
  const migrations = recs.filter((r) => r.kind === 'migration');
  const flaky = recs.filter((r) => r.status === 'flaky');
  const out: { title: string; head: string[]; rows: string[][]; note?: string }[] = [];
  if (report.errors.length) {
    out.push({
      title: 'Run errors',
      head: ['source', 'error'],
      rows: report.errors.map((e) => [e.source, e.message.split('\n')[0] ?? '']),
    });
  }
  if (attention.length) {
    out.push({
      title: 'Needs attention',
      head: ['', 'kind', 'result', 'numbers', 'message'],
      rows: attention.map((r) => [
        icon(r),
        r.kind,
        `${fullName(r)}${r.file ? ` (\`${r.file}\`)` : ''}`,
        keyNumbers(r),
        (r.message ?? '').split('\n')[0]?.slice(0, 200) ?? '',
      ]),
    });
  }
  if (budgets.length) {
    const rows: string[][] = [];
    for (const r of budgets) {
      for (const [name, b] of Object.entries(r.budgets ?? {})) {
        rows.push([
          icon(r),
          fullName(r),
          name,
          metric(name, b.value),
          b.limit !== undefined ? metric(name, b.limit) : '–',
          b.baseline !== undefined ? metric(name, b.baseline) : '–',
          delta(b.deltaPct),
        ]);
      }
      if (!r.budgets) rows.push([icon(r), fullName(r), '–', keyNumbers(r), '–', '–', '–']);
    }
    out.push({
      title: 'Performance budgets',
      head: ['', 'SLO', 'metric', 'value', 'budget', 'baseline', 'Δ vs baseline'],
      rows,
    });
  }
  const queried = queryCheckRows(recs);
  if (queried.length) {
    out.push({
      title: 'Query checks',
      head: ['', 'test', 'check', 'repeated shapes (N+1)'],
      rows: queried.map((q) => [
        icon(q.record),
        fullName(q.record),
        q.check({ shape: (x) => `\`${x}\``, text: (x) => x }),
        q.repeated.map((x) => `${x.label}: \`${x.shape.slice(0, 80)}\` ${x.count}×`).join('; ') || '–',
      ]),
    });
  }
  if (migrations.length) {
    out.push({
      title: 'Migration checks',
      head: ['', 'check', 'verdict', 'evidence'],
      rows: migrations.map((r) => [
        icon(r),
        fullName(r),
        String((r.evidence as { verdict?: string } | undefined)?.verdict ?? statusLabel(r)),
        keyNumbers(r) || (r.message ?? '').split('\n')[0] || '',
      ]),
    });
  }
  if (flaky.length) {
    out.push({
      title: 'Flaky (passed on retry)',
      head: ['test', 'retries'],
      rows: flaky.map((r) => [fullName(r), String(r.retries ?? 1)]),
    });
  }
  return out;
}

/** Renders the Markdown within `limit` characters, cutting rows (then sections) with a pointer. */
export function renderMarkdown(
  report: MergedReport,
  counts: Counts,
  limit = GITHUB_COMMENT_LIMIT,
  fullReport = 'the `shipgate-report` artifact (index.html)',
): string {
  const footer = `\n---\nFull report: ${fullReport}.\n`;
  let out = header(report, counts);
  const budget = limit - footer.length - 200;
  let cut = 0;
  for (const s of sections(report)) {
    const lines = ['', `### ${s.title}`, '', ...table(s.head, [])];
    let text = `${lines.join('\n')}\n`;
    if (out.length + text.length > budget) {
      cut += s.rows.length;
      continue;
    }
    let shown = 0;
    for (const row of s.rows) {
      const line = `| ${row.map(cell).join(' | ')} |\n`;
      if (out.length + text.length + line.length > budget) break;
      text += line;
      shown += 1;
    }
    if (shown < s.rows.length) {
      text += `\n_… ${s.rows.length - shown} more rows not shown (GitHub's ${limit.toLocaleString('en-US')}-character limit)._\n`;
      cut += s.rows.length - shown;
    }
    out += text;
  }
  if (cut) out += `\n_Truncated: ${cut} rows left out._\n`;
  return out + footer;
}

export const markdownSink: Sink = {
  name: 'markdown',
  render(report, { outDir, counts, env }) {
    const link = envValue('SHIPGATE_REPORT_URL', env)
      ? `[index.html](${envValue('SHIPGATE_REPORT_URL', env)})`
      : undefined;
    const md = renderMarkdown(report, counts, GITHUB_COMMENT_LIMIT, link);
    writeFileSync(path.join(outDir, 'summary.md'), md);
    if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, md);
  },
};
