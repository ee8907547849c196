import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { MergedReport } from '../merge.ts';
import type { ShipgateRecord } from '../model.ts';
import { fullName, keyNumbers, queryCheckRows, statusLabel, worstFirst } from '../summary.ts';
import type { Sink } from './sink.ts';

/**
 * `index.html`: one self-contained page that works offline. Chart.js (its UMD build, inlined)
 * draws latency percentiles against budget and baseline, k6 metrics, and migration durations,
 * lock holds and rewrites; a table lists every record, worst first.
 */
const require = createRequire(import.meta.url);

function chartJsSource(): string {
  // The package exports only its module entries; the UMD build sits beside them in dist/.
  const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  // Inline <script> content must not close the element early.
  return readFileSync(file, 'utf8').replaceAll('</script', '<\\/script');
}

const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** The data the page's script charts, kept small and explicit. */
export function chartData(records: readonly ShipgateRecord[]) {
  const budgets = records
    .filter((r) => r.kind === 'budget')
    .map((r) => {
      const pick = (k: string) =>
        r.budgets?.[k] ?? (r.metrics?.[k] !== undefined ? { value: r.metrics[k] as number } : undefined);
      const ps = ['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'p999Ms'].map((k) => ({
        key: k,
        b: pick(k) as { value: number; limit?: number; baseline?: number } | undefined,
      }));
      return {
        name: fullName(r),
        status: statusLabel(r),
        labels: ps.map((p) => (p.key === 'p999Ms' ? 'p99.9' : p.key.replace('Ms', ''))),
        measured: ps.map((p) => p.b?.value ?? null),
        budget: ps.map((p) => p.b?.limit ?? null),
        baseline: ps.map((p) => p.b?.baseline ?? null),
      };
    });
  // Only k6 runs that measured something: a skipped one (no k6 binary) draws no chart.
  const loads = records
    .filter(
      (r) =>
        r.kind === 'load' &&
        r.status !== 'skipped' &&
        (r.metrics?.p95Ms !== undefined || r.metrics?.p99Ms !== undefined || r.metrics?.rps !== undefined),
    )
    .map((r) => ({
      name: fullName(r),
      status: statusLabel(r),
      p95Ms: r.metrics?.p95Ms ?? null,
      p99Ms: r.metrics?.p99Ms ?? null,
      rps: r.metrics?.rps ?? null,
      errorRatePct: r.metrics?.errorRate !== undefined ? (r.metrics.errorRate as number) * 100 : null,
    }));
  const migrations = records
    .filter(
      (r) =>
        r.kind === 'migration' &&
        r.metrics &&
        (r.metrics.durationMs !== undefined || r.metrics.lockHoldMs !== undefined),
    )
    .map((r) => ({
      name: fullName(r),
      status: statusLabel(r),
      durationMs: r.metrics?.durationMs ?? null,
      lockHoldMs: r.metrics?.lockHoldMs ?? null,
      rewrites: r.metrics?.rewrites ?? null,
    }));
  return { budgets, loads, migrations };
}

const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('shipgate-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  function empty(id, text) { var el = document.getElementById(id); el.textContent = text; el.className = 'empty'; }
  function canvas(parent, title) {
    var box = document.createElement('figure'); box.className = 'chart';
    var cap = document.createElement('figcaption'); cap.textContent = title; box.appendChild(cap);
    var wrap = document.createElement('div'); wrap.className = 'canvas'; var c = document.createElement('canvas');
    wrap.appendChild(c); box.appendChild(wrap); document.getElementById(parent).appendChild(box); return c;
  }
  if (data.budgets.length === 0) empty('budgets', 'No budget results in this run.');
  data.budgets.forEach(function (b) {
    new Chart(canvas('budgets', b.name + ' — ' + b.status), {
      type: 'bar',
      data: { labels: b.labels, datasets: [
        { label: 'measured (ms)', data: b.measured, backgroundColor: '#3b82f6' },
        { label: 'budget (ms)', data: b.budget, backgroundColor: '#ef4444' },
        { label: 'baseline (ms)', data: b.baseline, backgroundColor: '#9ca3af' } ] },
      // Log scale: a 3 ms p50 stays visible next to a 400 ms budget.
      options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms (log)' } } } }
    });
  });
  if (data.loads.length > 0) new Chart(canvas('loads', 'k6: latency and throughput'), {
    type: 'bar',
    data: { labels: data.loads.map(function (l) { return l.name; }), datasets: [
      { label: 'p95 (ms)', data: data.loads.map(function (l) { return l.p95Ms; }), backgroundColor: '#3b82f6', yAxisID: 'y' },
      { label: 'p99 (ms)', data: data.loads.map(function (l) { return l.p99Ms; }), backgroundColor: '#6366f1', yAxisID: 'y' },
      { label: 'requests/s', data: data.loads.map(function (l) { return l.rps; }), backgroundColor: '#10b981', yAxisID: 'y1' } ] },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } },
                         y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'req/s' } } } }
  });
  if (data.migrations.length === 0) empty('migrations', 'No migration checks with timings in this run.');
  else new Chart(canvas('migrations', 'migrations: duration, lock hold and rewrites'), {
    type: 'bar',
    data: { labels: data.migrations.map(function (m) { return m.name; }), datasets: [
      { label: 'duration (ms)', data: data.migrations.map(function (m) { return m.durationMs; }), backgroundColor: '#3b82f6', yAxisID: 'y' },
      { label: 'strongest lock held (ms)', data: data.migrations.map(function (m) { return m.lockHoldMs; }), backgroundColor: '#f59e0b', yAxisID: 'y' },
      { label: 'rewritten relations', data: data.migrations.map(function (m) { return m.rewrites; }), backgroundColor: '#ef4444', yAxisID: 'y1' } ] },
    options: { indexAxis: 'x', scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } },
                         y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, ticks: { precision: 0 } } } }
  });
  document.querySelectorAll('button[data-filter]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var f = btn.getAttribute('data-filter');
      document.querySelectorAll('#records tbody tr').forEach(function (tr) {
        tr.hidden = f !== 'all' && tr.getAttribute('data-status') !== f;
      });
    });
  });
  document.body.setAttribute('data-ready', 'true');
})();
`;

export function renderHtml(
  report: MergedReport,
  exitCode: number,
  counts: { passed: number; failed: number; skipped: number },
): string {
  const chart = chartData(report.records);
  const data = JSON.stringify(chart).replaceAll('<', '\\u003c');
  const rows = worstFirst(report.records)
    .map(
      (r) =>
        `<tr data-status="${esc(r.status)}" class="${esc(r.status)}${r.regression ? ' regression' : ''}"><td>${esc(statusLabel(r))}</td><td>${esc(r.kind)}</td><td>${esc(fullName(r))}</td><td>${esc(r.file ?? '')}</td><td class="num">${r.durationMs.toFixed(0)}</td><td>${esc(keyNumbers(r))}</td><td>${esc((r.message ?? '').split('\n')[0] ?? '')}</td></tr>`,
    )
    .join('\n');
  const errors = report.errors.map((e) => `<li>${esc(e.source)}: ${esc(e.message)}</li>`).join('');
  const queries = queryCheckRows(worstFirst(report.records))
    .map(
      (q) =>
        `<tr class="${esc(q.record.status)}"><td>${esc(statusLabel(q.record))}</td><td>${esc(fullName(q.record))}</td><td>${q.check({ shape: (x) => `<code>${esc(x)}</code>`, text: esc })}</td><td>${q.repeated.map((x) => `${esc(x.label)}: <code>${esc(x.shape)}</code> ${x.count}×`).join('<br>') || '–'}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shipgate report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111827; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.verdict.ok { color: #047857; } .verdict.bad { color: #b91c1c; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure.chart { margin: 0; width: 420px; } figure.chart .canvas { position: relative; height: 240px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.empty { color: #6b7280; font-style: italic; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #e5e7eb; padding: 4px 6px; text-align: left; vertical-align: top; }
td.num { text-align: right; } tr.failed td:first-child, tr.inconclusive td:first-child, tr.regression td:first-child { color: #b91c1c; font-weight: 600; }
tr.flaky td:first-child { color: #b45309; }
</style>
</head>
<body>
<h1>shipgate report <span class="verdict ${exitCode === 0 ? 'ok' : 'bad'}">${exitCode === 0 ? 'passed' : `failed (exit code ${exitCode})`}</span></h1>
<p id="counts">${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped · ${report.records.length} records from ${esc(report.producers.join(', '))}${report.commit ? ` · commit <code>${esc(report.commit.slice(0, 12))}</code>` : ''}${report.schemaVersion ? ` · schema <code>${esc(report.schemaVersion.slice(0, 12))}</code>` : ''} · ${esc(report.startedAt)}</p>
${errors ? `<h2>Run errors</h2><ul id="errors">${errors}</ul>` : ''}
<h2>Latency percentiles vs budget and baseline</h2><div class="charts" id="budgets"></div>
${chart.loads.length ? '<h2>k6</h2><div class="charts" id="loads"></div>\n' : ''}<h2>Migrations</h2><div class="charts" id="migrations"></div>
${queries ? `<h2>Query checks</h2>\n<table id="queries"><thead><tr><th>status</th><th>test</th><th>check</th><th>repeated shapes (N+1)</th></tr></thead>\n<tbody>\n${queries}\n</tbody></table>\n` : ''}<h2>All results</h2>
<p><button data-filter="all">all</button> <button data-filter="failed">failed</button> <button data-filter="inconclusive">inconclusive</button> <button data-filter="flaky">flaky</button> <button data-filter="skipped">skipped</button></p>
<table id="records"><thead><tr><th>status</th><th>kind</th><th>name</th><th>file</th><th>ms</th><th>numbers</th><th>message</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<script type="application/json" id="shipgate-data">${data}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

export const htmlSink: Sink = {
  name: 'html',
  render(report, { outDir, counts }) {
    writeFileSync(path.join(outDir, 'index.html'), renderHtml(report, counts.exitCode, counts));
  },
};
