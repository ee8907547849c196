import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/chaos.ts';
import { onTeardown } from '../../plugins/core/cleanup.ts';
import { parsePrometheusText } from '../../plugins/metrics/prometheus.ts';
import { registerReapable } from '../../plugins/reaper/reaper.ts';
import { startNotifyProvider } from './notify-upstream.ts';

const root = path.resolve(import.meta.dirname, '../..');

interface Started {
  child: ChildProcess;
  base: string;
  lines: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `node example/src/server.ts` as production would (env only), reaped even if this process dies hard. */
async function startServer(env: NodeJS.ProcessEnv): Promise<Started> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-example-'));
  const child = spawn(process.execPath, [path.join(root, 'example/src/server.ts')], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pidFile = path.join(dir, 'pid');
  writeFileSync(pidFile, String(child.pid));
  const unreap = registerReapable({ kind: 'process', pidFile, dirs: [dir] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    unreap();
    rmSync(dir, { recursive: true, force: true });
  };
  const unteardown = onTeardown('example server', stop);
  onTestFinished(async () => {
    await stop();
    unteardown();
  });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const json = JSON.parse(line) as Record<string, unknown>;
          lines.push(json);
          if (json.event === 'listening') resolve(json.port as number);
        } catch {
          // not a JSON line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code} before listening: ${err}`)));
  });
  return { child, base: `http://127.0.0.1:${port}`, lines, stderr: () => err, exited };
}

describe('the example server process (production wiring, env only)', () => {
  test('survives Postgres going down and recovers without a restart; /metrics shows it', async ({ chaos }) => {
    const provider = await startNotifyProvider();
    onTestFinished(() => provider.close());
    const server = await startServer({
      DATABASE_URL: chaos.dbUrl,
      UPSTREAM_URL: provider.url,
      DB_BREAKER_COOLDOWN_MS: '500',
      DB_RETRY_BASE_MS: '20',
    });
    const pid = server.child.pid;
    const get = (p: string) => fetch(`${server.base}${p}`);
    expect((await get('/health')).status).toBe(200);
    const user = await fetch(`${server.base}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'p@example.test', name: 'Pat' }),
    });
    expect(user.status).toBe(201);

    await chaos.db.down();
    const down = await get('/api/tickets');
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    expect((await get('/health')).status).toBe(503);
    for (let i = 0; i < 3; i++) await get('/api/tickets');

    await chaos.db.up();
    const t = performance.now();
    let status = 0;
    while (status !== 200 && performance.now() - t < 5_000) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await get('/api/tickets')).status;
    }
    expect(status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    expect(server.child.pid).toBe(pid);

    const notify = await fetch(`${server.base}/api/tickets/1/notify`, { method: 'POST' });
    expect(notify.status).toBe(404); // no ticket 1 in this database: the route is wired and answers

    const families = parsePrometheusText(await (await get('/metrics')).text());
    const counts = (families.get('http_request_duration_seconds')?.samples ?? []).filter(
      (s) => s.name === 'http_request_duration_seconds_count' && s.labels.route === '/api/tickets',
    );
    const byStatus = Object.fromEntries(counts.map((s) => [s.labels.status, s.value]));
    expect(byStatus['503']).toBeGreaterThanOrEqual(4);
    expect(byStatus['200']).toBeGreaterThanOrEqual(1);
    const breaker = server.lines.filter((l) => l.msg === 'breaker').map((l) => l.state);
    expect(breaker).toEqual(expect.arrayContaining(['open', 'half-open', 'closed']));

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toBe('');
    expect(server.lines.at(-1)).toEqual({ event: 'stopped' });
  });
});
