import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../plugins/core/net.ts';

/**
 * `shipgate budget --metrics-url` reads the app's own Prometheus histogram before and after the
 * run and reports the server's percentiles next to the client's: a real prom-client server
 * that answers /slow after 20 ms, measured through the CLI.
 */
const root = path.resolve(import.meta.dirname, '../..');
const registry = new Registry();
const histogram = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'request duration',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.05, 0.1],
  registers: [registry],
});
let served = 0;
const server = createServer(async (req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
    return;
  }
  const end = histogram.startTimer({ method: req.method ?? 'GET', route: '/slow' });
  setTimeout(() => {
    served += 1;
    res.end('ok');
    end({ status: '200' });
  }, 20);
});
let url = '';
let report = '';

beforeAll(async () => {
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  url = `http://127.0.0.1:${port}`;
  report = mkdtempSync(path.join(tmpdir(), 'shipgate-hist-'));
});
afterAll(() => {
  server.close();
  rmSync(report, { recursive: true, force: true });
});

function runBudget(metricsUrl: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        'plugins/cli/shipgate.ts',
        'budget',
        '--url',
        url,
        '--slos',
        'specs/budget/__fixtures__/hist.slo.ts',
        '--profile',
        'normal',
        '--metrics-url',
        metricsUrl,
      ],
      {
        cwd: root,
        env: { ...process.env, CI: 'true', SHIPGATE_REPORT_DIR: report },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

function lastRecord() {
  const dir = path.join(report, 'records');
  const file = readdirSync(dir).sort().at(-1) as string;
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')).records[0];
}

test('the server histogram is read around the run and reported next to client time', async () => {
  const before = served;
  const run = await runBudget(`${url}/metrics`);
  expect(run.code, run.out).toBe(0);
  const rec = lastRecord();
  const n = served - before;
  expect(rec.metrics.histServerN).toBe(n);
  expect(n).toBeGreaterThanOrEqual(300);
  // Handlers take at least 20 ms (more when the machine is busy): the server-side p95 is at
  // least that, and is interpolated inside the bucket the evidence names.
  const [lo, hi] = rec.evidence.serverHistogram.p95BucketMs as [number, number];
  expect(lo).toBeGreaterThanOrEqual(20);
  expect(rec.metrics.histServerP95Ms).toBeGreaterThan(lo);
  expect(rec.metrics.histServerP95Ms).toBeLessThanOrEqual(hi);
  expect(rec.metrics.histServerP50Ms).toBeGreaterThanOrEqual(20);
  expect(rec.evidence.serverHistogram.match).toEqual({ method: 'GET', route: '/slow' });
  expect(rec.metrics.p95Ms).toBeGreaterThanOrEqual(20);
  expect(run.out).toContain(
    `server histogram (${n} requests): p50/p95/p99 ${rec.metrics.histServerP50Ms.toFixed(1)} / ${rec.metrics.histServerP95Ms.toFixed(1)} / ${rec.metrics.histServerP99Ms.toFixed(1)} ms`,
  );
});

test('a metrics URL that does not answer is reported, and the budget is still judged', async () => {
  const closed = await freePort();
  const run = await runBudget(`http://127.0.0.1:${closed}/metrics`);
  expect(run.code, run.out).toBe(0);
  const rec = lastRecord();
  expect(rec.status).toBe('passed');
  expect(rec.metrics.histServerN).toBeUndefined();
  expect(rec.evidence.serverHistogram.error).toMatch(
    new RegExp(`^scraping http://127\\.0\\.0\\.1:${closed}/metrics failed: `),
  );
});
