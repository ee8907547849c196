import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { test } from '../../fixtures/vitest.ts';
import { compileCacheEnv, startAppProcess } from './app-process.ts';
import { AppServerError } from './app-server.ts';
import { ServerLog } from './server-log.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function ctx(databaseUrl: string) {
  n += 1;
  return { root, databaseUrl, databaseName: 'x', log: new ServerLog(path.join(dir, `server-${n}.log`)) };
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidFiles(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith(`shipgate-app-${process.pid}-`));
}

describe('startAppProcess', () => {
  test('starts the example server on the database, logs its requests, and stops it', async ({ db }) => {
    const c = ctx(db.url);
    const app = await startAppProcess({ command: 'node example/src/server.ts', healthPath: '/health' }, c);
    try {
      expect(app.mode).toBe('process');
      expect(app.url).toBe(`http://127.0.0.1:${app.port}`);
      expect(alive(app.pid)).toBe(true);
      expect(pidFiles()).toHaveLength(1);
      // A `node …` server shares Node's compile cache across workers.
      expect(existsSync(path.join(root, 'node_modules/.cache/shipgate/node-compile-cache'))).toBe(true);
      const res = await fetch(`${app.url}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'probe-1' },
        body: JSON.stringify({ email: 'probe@example.test', name: 'Probe' }),
      });
      expect(res.status).toBe(201);
      // The server wrote to the database it was given…
      expect(await db.rows('SELECT name FROM users')).toEqual([{ name: 'Probe' }]);
      // …and its request line is in the log, found by trace id.
      await c.log.waitFor((e) => e.text.includes('probe-1'), 2_000, 0);
      expect(c.log.withTraceIds(['probe-1']).map((e) => e.json)).toEqual([
        expect.objectContaining({ method: 'POST', path: '/api/users', status: 201, traceId: 'probe-1' }),
      ]);
    } finally {
      await app.stop();
    }
    expect(alive(app.pid)).toBe(false);
    expect(pidFiles()).toEqual([]);
    // The shutdown lines were flushed to the kept file before it closed.
    expect(readFileSync(c.log.file, 'utf8')).toMatch(/"event":"shutdown","signal":"SIGTERM"[\s\S]*"event":"stopped"/);
    await app.stop(); // idempotent
  });

  test('a command that exits before it is ready: its exit code and last lines', async ({ db }) => {
    const c = ctx(db.url);
    const run = startAppProcess({ command: ['node', '-e', "console.error('boom: port taken'); process.exit(4)"] }, c);
    await expect(run).rejects.toThrow(AppServerError);
    await expect(run).rejects.toThrow(/exited with code 4 before it was ready\. Its last lines:\nboom: port taken/);
    expect(pidFiles()).toEqual([]);
  });

  test('a command that does not exist', async ({ db }) => {
    const run = startAppProcess({ command: 'no-such-server-binary --port 0' }, ctx(db.url));
    await expect(run).rejects.toThrow(
      /App server command "no-such-server-binary --port 0" could not start: spawn no-such-server-binary ENOENT.*use\.app\.command/,
    );
  });

  test('a server that never says it is listening is stopped after readyTimeoutMs', async ({ db }) => {
    const c = ctx(db.url);
    const script = "console.log('warming up'); setInterval(() => {}, 1000)";
    const started = Date.now();
    const run = startAppProcess({ command: ['node', '-e', script], readyTimeoutMs: 500, stopTimeoutMs: 1_000 }, c);
    await expect(run).rejects.toThrow(/did not say it was listening within 500 ms.*\nwarming up/s);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(pidFiles()).toEqual([]);
    await c.log.close();
    expect(readFileSync(c.log.file, 'utf8')).toBe('warming up\n');
  });

  test('a custom readyPattern without a port group: shipgate picks the port and passes it in PORT', async ({ db }) => {
    const script =
      "require('node:http').createServer((q, s) => s.end(process.env.DATABASE_URL)).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready!'))";
    const app = await startAppProcess({ command: ['node', '-e', script], readyPattern: /^ready!$/ }, ctx(db.url));
    try {
      expect(app.port).toBeGreaterThan(0);
      expect(await (await fetch(app.url)).text()).toBe(db.url);
    } finally {
      await app.stop();
    }
  });

  test('a health path that never answers 2xx fails start-up and stops the server', async ({ db }) => {
    const c = ctx(db.url);
    // 10 s: on a loaded 2-core machine the server took over 1.5 s to answer at all (a timeout, not the 404).
    const run = startAppProcess(
      { command: 'node example/src/server.ts', healthPath: '/no-such-path', readyTimeoutMs: 10_000 },
      c,
    );
    await expect(run).rejects.toThrow(
      /Health check "http:\/\/127\.0\.0\.1:\d+\/no-such-path" did not answer 2xx: HTTP 404/,
    );
    expect(pidFiles()).toEqual([]);
    expect(existsSync(c.log.file)).toBe(true);
  });
});

test('compileCacheEnv: only for `node …` commands, only with a node_modules folder, and never over an opt-out', () => {
  const node = [process.execPath, 'server.js'];
  expect(compileCacheEnv(node, root, {})).toEqual({
    NODE_COMPILE_CACHE: path.join(root, 'node_modules/.cache/shipgate/node-compile-cache'),
  });
  expect(compileCacheEnv(['pnpm', 'start'], root, {})).toEqual({});
  expect(compileCacheEnv(node, root, { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual({});
  expect(compileCacheEnv(node, root, { NODE_COMPILE_CACHE: '/elsewhere' })).toEqual({});
  expect(compileCacheEnv(node, dir, {})).toEqual({});
});
