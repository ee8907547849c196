import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findK6 } from '../../plugins/k6/runner.ts';
import { writeRecords } from '../../plugins/report/records.ts';
import { cli, start } from './matrix.ts';

// The exit-code matrix's entry points that need no Postgres: budget, k6 run, report, usage errors.
describe('provider-free entry points', () => {
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.statusCode = req.url === '/error' ? 500 : 200;
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const slos = 'specs/fixtures-project/exit.slo.ts';

  for (const [id, code, status] of [
    ['exit-pass', 0, 'passed'],
    ['exit-fail', 2, 'failed'],
  ] as const) {
    test(`shipgate budget · ${status} → exit ${code}`, async () => {
      const run = await start(process.execPath, [cli, 'budget', '--url', url, '--slos', slos, '--only', id], {}).done;
      expect(run.code, run.output).toBe(code);
      expect(run.lastLine).toBe(`shipgate budget: exit ${code}`);
      expect(run.output).toContain(`shipgate budget: ${status}  GET /${id === 'exit-pass' ? 'ok' : 'error'}`);
    });
  }

  const k6 = findK6();
  for (const [id, code] of [
    ['exit-pass', 0],
    ['exit-fail', 2],
  ] as const) {
    test.skipIf(!k6.binary)(`shipgate k6 run · ${id} → exit ${code} (needs k6: ${k6.reason})`, async () => {
      const run = await start(process.execPath, [cli, 'k6', 'run', '--url', url, '--slos', slos, '--only', id], {})
        .done;
      expect(run.code, run.output).toBe(code);
      expect(run.lastLine).toBe(`shipgate k6: exit ${code}`);
    });
  }

  test('shipgate report: exit 2 with a failed record, 0 without; the last line is the summary', async () => {
    for (const [status, code] of [
      ['failed', 2],
      ['passed', 0],
    ] as const) {
      const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-exit-report-'));
      try {
        const saved = process.env.SHIPGATE_REPORT_DIR;
        process.env.SHIPGATE_REPORT_DIR = dir;
        try {
          writeRecords('exit-matrix', [
            { id: `t › ${status}`, kind: 'test', runner: 'vitest', name: status, suite: [], status, durationMs: 1 },
          ]);
        } finally {
          if (saved === undefined) delete process.env.SHIPGATE_REPORT_DIR;
          else process.env.SHIPGATE_REPORT_DIR = saved;
        }
        const run = await start(process.execPath, [cli, 'report', dir, '--sinks', 'console'], {}).done;
        expect(run.code, run.output).toBe(code);
        expect(run.lastLine).toMatch(
          new RegExp(`^shipgate: ${status === 'passed' ? 1 : 0} passed, ${code ? 1 : 0} failed`),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('an unknown flag is a usage error: exit 64, no stack', async () => {
    const run = await start(process.execPath, [cli, 'report', '--no-such-flag'], {}).done;
    expect(run.code).toBe(64);
    expect(run.output).toMatch(/Unknown option '--no-such-flag'/);
    expect(run.output).not.toMatch(/\n\s+at /);
  });
});
