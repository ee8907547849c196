import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BrowserNotFoundError, chooseChromium } from '../../plugins/playwright/browser.ts';
import { mergeReports } from '../../plugins/report/merge.ts';
import type { ShipgateRecord } from '../../plugins/report/model.ts';
import { writeRecords } from '../../plugins/report/records.ts';
import { renderReport, resolveSinks } from '../../plugins/report/sinks/index.ts';
import { budgetRecord, loadRecord, migrationRecord } from './sample-records.ts';

const choice = (() => {
  try {
    return chooseChromium({}, { bundledPath: chromium.executablePath() });
  } catch (err) {
    if (err instanceof BrowserNotFoundError) return err;
    throw err;
  }
})();
const why = choice instanceof Error ? ` [skipped: ${choice.message}]` : '';
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'shipgate-html-'));
  const saved = process.env.SHIPGATE_REPORT_DIR;
  process.env.SHIPGATE_REPORT_DIR = dir;
  const test: ShipgateRecord = {
    id: 't',
    kind: 'test',
    runner: 'vitest',
    name: 'a </script> <b>test</b>',
    suite: [],
    status: 'failed',
    durationMs: 3,
    message: 'boom <img src=x onerror=alert(1)>',
  };
  writeRecords('mixed', [
    test,
    budgetRecord(),
    budgetRecord({ id: 'b2', name: 'POST /api/tickets', regression: true }),
    loadRecord(),
    loadRecord({ id: 'l2', name: 'search (stress)', metrics: { p95Ms: 410, p99Ms: 800, rps: 45, errorRate: 0.01 } }),
    migrationRecord(),
    migrationRecord({
      id: 'm2',
      name: 'locks: safe twin',
      status: 'passed',
      metrics: { durationMs: 15, lockHoldMs: 2, rewrites: 0 },
    }),
  ]);
  if (saved === undefined) delete process.env.SHIPGATE_REPORT_DIR;
  else process.env.SHIPGATE_REPORT_DIR = saved;
  await renderReport(mergeReports([dir]), resolveSinks(['html']), { outDir: dir });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('index.html is self-contained: no external URLs to load', () => {
  const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
  expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
  expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
});

test.skipIf(choice instanceof Error)(
  `in a real browser, offline, the charts render and nothing logs an error${why}`,
  async () => {
    const browser = await chromium.launch((choice as Exclude<typeof choice, Error>).launchOptions);
    try {
      const context = await browser.newContext({ offline: true });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      await page.goto(`file://${path.join(dir, 'index.html')}`);
      await page.waitForSelector('body[data-ready="true"]');
      const charts = await page.evaluate(() => {
        const Chart = (
          window as unknown as {
            Chart: {
              getChart(
                c: HTMLCanvasElement,
              ): { data: { labels: unknown[]; datasets: { data: unknown[] }[] } } | undefined;
            };
          }
        ).Chart;
        return [...document.querySelectorAll('canvas')].map((c) => {
          const chart = Chart.getChart(c);
          const ctx = c.getContext('2d');
          const pixels = ctx ? ctx.getImageData(0, 0, c.width, c.height).data : new Uint8ClampedArray();
          let painted = 0;
          for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted += 1;
          return {
            section: c.closest('.charts')?.id,
            labels: chart?.data.labels.length ?? 0,
            datasets: chart?.data.datasets.map((d) => d.data.filter((v) => v !== null).length) ?? [],
            painted,
            size: [c.width, c.height],
          };
        });
      });
      expect(charts.map((c) => c.section)).toEqual(['budgets', 'budgets', 'loads', 'migrations']);
      // p50, p90, p95, p99 and p99.9; the sample record measured three of them.
      expect(charts[0]).toMatchObject({ labels: 5, datasets: [3, 2, 2] });
      expect(charts[2]).toMatchObject({ labels: 2, datasets: [2, 2, 2] });
      expect(charts[3]).toMatchObject({ labels: 2, datasets: [2, 2, 2] });
      for (const c of charts) expect(c.painted, `${c.section} canvas has drawn pixels`).toBeGreaterThan(1000);
      expect(problems).toEqual([]);

      // The status filter hides the rest.
      await page.click('button[data-filter="failed"]');
      const visible = await page.$$eval('#records tbody tr:not([hidden])', (rows) =>
        rows.map((r) => r.getAttribute('data-status')),
      );
      expect(visible).toEqual(['failed', 'failed']);
    } finally {
      await browser.close();
    }
  },
);

test('a run where k6 did not run (its record skipped) draws no k6 chart and no empty k6 section', async () => {
  const own = mkdtempSync(path.join(tmpdir(), 'shipgate-html-nok6-'));
  try {
    const saved = process.env.SHIPGATE_REPORT_DIR;
    process.env.SHIPGATE_REPORT_DIR = own;
    writeRecords('nok6', [
      budgetRecord(),
      loadRecord({ id: 'l-skipped', status: 'skipped', metrics: {}, message: 'k6 not installed' }),
    ]);
    if (saved === undefined) delete process.env.SHIPGATE_REPORT_DIR;
    else process.env.SHIPGATE_REPORT_DIR = saved;
    await renderReport(mergeReports([own]), resolveSinks(['html']), { outDir: own });
    const html = readFileSync(path.join(own, 'index.html'), 'utf8');
    expect(html).not.toContain('<h2>k6</h2>');
    expect(html).not.toContain('id="loads"');
    const data = JSON.parse(
      /<script type="application\/json" id="shipgate-data">([^<]*)<\/script>/.exec(html)?.[1] ?? '{}',
    ) as {
      loads: unknown[];
      budgets: unknown[];
    };
    expect(data.loads).toEqual([]);
    expect(data.budgets).toHaveLength(1);
    // The skipped record is still listed with the others.
    expect(html).toContain('k6 not installed');
  } finally {
    rmSync(own, { recursive: true, force: true });
  }
});
