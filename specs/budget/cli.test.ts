import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runShipgate } from '../support/cli.ts';

/** `shipgate budget` and `shipgate k6` as users run them: child processes, real servers, exit codes. */

const slos = path.join('specs', 'budget', '__fixtures__', 'cli.slo.ts');
const fixtures = path.join('specs', 'budget', '__fixtures__');

let server: http.Server;
let url = '';
beforeAll(async () => {
  server = http.createServer((req, res) => setTimeout(() => res.end('ok'), req.url === '/slow' ? 20 : 1));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function shipgate(args: string[], env: NodeJS.ProcessEnv = {}) {
  const reportDir = mkdtempSync(path.join(tmpdir(), 'shipgate-cli-report-'));
  return runShipgate(args, { SHIPGATE_BASELINE_DIR: path.join(reportDir, 'store'), ...env }, reportDir);
}

describe('shipgate budget', () => {
  test('missing arguments: exit 64 listing every problem and the fix', async () => {
    const { code, out } = await shipgate(['budget'], { SHIPGATE_SLOS: '', SHIPGATE_BUDGET_URL: '' });
    expect(code).toBe(64);
    expect(out).toContain(
      'no target: pass --url (or set SHIPGATE_BUDGET_URL); no SLOs: pass --slos perf/<name>.slo.ts (or set SHIPGATE_SLOS)',
    );
  });

  test('met budgets exit 0', async () => {
    const { code, out, records } = await shipgate(['budget', '--url', url, '--slos', slos, '--only', 'cli-pass']);
    expect(code, out).toBe(0);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      kind: 'budget',
      status: 'passed',
      name: 'GET /fast',
      budgets: { p95Ms: { limit: 500, ok: true } },
    });
    expect(out).toContain('Budget "GET /fast" (normal: 10 VUs for 1.5 s) met its budgets:');
  });

  test('a violated SLO exits 2 and wins over an inconclusive one', async () => {
    const { code, out, records } = await shipgate([
      'budget',
      '--url',
      url,
      '--slos',
      slos,
      '--only',
      'cli-fail,cli-few',
    ]);
    // In the unit phase next to another worker the host can be measurably CPU-starved: then the
    // violation is inconclusive with that reason (verdict.ts), and never a pass.
    if (records[0]?.status === 'inconclusive') {
      expect(records[0]?.message).toMatch(/^Budget "GET \/slow" inconclusive: .*the host was CPU-starved: /);
      expect(records[0]?.budgets?.p95Ms).toMatchObject({ limit: 5, ok: false });
      expect(code, out).toBe(3);
      return;
    }
    expect(code, out).toBe(2);
    expect(records.map((r) => r.status)).toEqual(['failed', 'inconclusive']);
    expect(out).toMatch(
      /Budget "GET \/slow" \(normal: 10 VUs for 1\.5 s\) failed:\n {2}- p95 [\d.]+ ms exceeds 5\.00 ms \(n=[\d,]+\)/,
    );
  });

  test('inconclusive alone exits 3', async () => {
    const { code, records } = await shipgate(['budget', '--url', url, '--slos', slos, '--only', 'cli-few']);
    expect(code).toBe(3);
    expect(records[0]?.message).toContain('too few samples for p99: n=10, needs ≥ 1000');
  });

  test('a bad environment variable is named with its value, before anything is measured (exit 64)', async () => {
    const { code, out, records } = await shipgate(['budget', '--url', url, '--slos', slos, '--only', 'cli-pass'], {
      SHIPGATE_BUDGET_ROUNDS: 'many',
    });
    expect(code).toBe(64);
    expect(records).toEqual([]);
    expect(out).toContain('SHIPGATE_BUDGET_ROUNDS is "many"; expected an integer from 1 to 100.');
    const profile = await shipgate(['budget', '--url', url, '--slos', slos, '--only', 'cli-pass'], {
      SHIPGATE_BUDGET_PROFILE: 'fast',
    });
    expect(profile.code).toBe(64);
    expect(profile.out).toContain('SHIPGATE_BUDGET_PROFILE is "fast"; expected smoke, normal, stress, soak');
  });

  test('an unknown SLO id is an error naming the known ones', async () => {
    const { code, out } = await shipgate(['budget', '--url', url, '--slos', slos, '--only', 'nope']);
    expect(code).toBe(64);
    expect(out).toContain('--only "nope" matches no SLO; known: cli-fail, cli-few, cli-pass');
  });
});

describe('shipgate k6', () => {
  test('parse: a summary with a crossed threshold exits 2, in either shape', async () => {
    for (const file of ['k6-handle-summary.json', 'k6-summary-export.json']) {
      const { code, out, records } = await shipgate([
        'k6',
        'parse',
        path.join(fixtures, file),
        '--slos',
        'perf/example.slo.ts',
      ]);
      expect(code, out).toBe(2);
      expect(records.map((r) => [r.kind, r.runner, r.name, r.status])).toEqual([
        ['load', 'k6', 'GET /api/search', 'failed'],
        ['load', 'k6', 'GET /api/tickets', 'passed'],
      ]);
      expect(records[0]?.budgets?.errorRate).toMatchObject({ value: 0.004, limit: 0.001, ok: false });
    }
  });

  test('run without k6: a clear message, and inconclusive (exit 3), never a pass', async () => {
    const { code, out, records } = await shipgate(['k6', 'run', '--url', url, '--slos', slos, '--only', 'cli-pass'], {
      K6_BIN: '/nonexistent/k6',
    });
    expect(code).toBe(3);
    expect(out).toContain(
      'shipgate k6: skipped, K6_BIN is "/nonexistent/k6", which does not exist; point it at a k6 binary or unset it.',
    );
    expect(records[0]).toMatchObject({ kind: 'load', status: 'inconclusive' });
  });

  test('generate writes one script per SLO; manifest prints a TestRun', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'shipgate-k6-out-'));
    try {
      const gen = await shipgate(['k6', 'generate', '--slos', slos, '--out', out, '--profile', 'smoke']);
      expect(gen.code, gen.out).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['cli-fail.js', 'cli-few.js', 'cli-pass.js']);
      expect(readFileSync(path.join(out, 'cli-pass.js'), 'utf8')).toContain(
        '"http_req_duration{slo:cli-pass}": [\n      "p(95)<500"\n    ]',
      );
      const man = await shipgate([
        'k6',
        'manifest',
        '--slos',
        slos,
        '--only',
        'cli-pass',
        '--url',
        'http://app:3000',
        '--parallelism',
        '3',
      ]);
      expect(man.code, man.out).toBe(0);
      expect(man.out).toContain('kind: TestRun');
      expect(man.out).toContain('  parallelism: 3');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
