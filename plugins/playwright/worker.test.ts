import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { test } from '../../fixtures/vitest.ts';
import { ConfigError, ShipgateError } from '../core/errors.ts';
import { Databases } from '../postgres/databases.ts';
import type { SessionRuntime } from '../session.ts';
import { RUNTIME_ENV, runtimeFromEnv, startWorker, type WorkerRecord } from './worker.ts';

const root = path.resolve(import.meta.dirname, '../..');
const out = mkdtempSync(path.join(tmpdir(), 'shipgate-worker-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runtimeOf(shipgate: SessionRuntime, extra: Partial<SessionRuntime> = {}): SessionRuntime {
  return { ...shipgate, prisma: path.join(root, 'example/src/db.ts#createPrisma'), keepOnFailure: false, ...extra };
}

async function exists(shipgate: SessionRuntime, name: string): Promise<boolean> {
  const dbs = new Databases(shipgate.adminUrl, { prefix: shipgate.prefix, major: shipgate.major });
  try {
    return (await dbs.list()).some((d) => d.name === name);
  } finally {
    await dbs.close();
  }
}

const inProcess = { factory: 'example/src/app.ts#createApp', healthPath: '/health' };

/**
 * Databases a worker of this process with `workerIndex` made (names end `_<pid36>_w<index36>`).
 * Other files share the prefix and create databases meanwhile, so a total count proves nothing.
 */
async function workerDatabases(dbs: Databases, workerIndex: number): Promise<string[]> {
  const suffix = `_${process.pid.toString(36)}_w${workerIndex.toString(36)}`;
  return (await dbs.list()).map((d) => d.name).filter((n) => n.endsWith(suffix));
}

describe('startWorker', () => {
  test('clones the template, starts the app on the clone, records the timings; stop drops the clone', async ({
    shipgate,
  }) => {
    const worker = await startWorker({
      runtime: runtimeOf(shipgate),
      app: inProcess,
      root,
      workerIndex: 7,
      parallelIndex: 1,
      outDir: out,
    });
    const name = worker.database.name;
    try {
      expect(name.startsWith(`${shipgate.prefix}_t_`)).toBe(true);
      expect(worker.app.mode).toBe('in-process');
      // The app writes to the clone.
      const res = await fetch(`${worker.app.url}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'w-probe' },
        body: JSON.stringify({ email: 'w@example.test', name: 'W' }),
      });
      expect(res.status).toBe(201);
      expect((await worker.database.query('SELECT name FROM users')).rows).toEqual([{ name: 'W' }]);
      // An in-process app's structured lines go to the same log.
      expect(worker.app.log.withTraceIds(['w-probe']).map((e) => e.json?.status)).toEqual([201]);

      const files = readdirSync(path.join(out, 'workers')).filter((f) => f.includes('-w7-'));
      expect(files).toHaveLength(1);
      const record = JSON.parse(readFileSync(path.join(out, 'workers', files[0] as string), 'utf8')) as WorkerRecord;
      expect(record).toMatchObject({
        workerIndex: 7,
        parallelIndex: 1,
        database: name,
        appMode: 'in-process',
        appUrl: worker.app.url,
      });
      expect(record.cloneUs).toBeGreaterThan(0);
      expect(record.setupUs).toBeGreaterThanOrEqual(record.cloneUs);
      expect(record).toMatchObject(worker.timings);

      // reset empties every table but keeps the migration history.
      const history = 'SELECT count(*)::int AS n FROM _prisma_migrations';
      const migrations = (await worker.database.query(history)).rows[0]?.n;
      expect(migrations).toBeGreaterThanOrEqual(4);
      await worker.reset();
      expect((await worker.database.query('SELECT count(*)::int AS n FROM users')).rows).toEqual([{ n: 0 }]);
      expect((await worker.database.query(history)).rows[0]?.n).toBe(migrations);
    } finally {
      await worker.stop();
    }
    expect(await exists(shipgate, name)).toBe(false);
    await expect(fetch(`${worker.app.url}/health`)).rejects.toThrow();
    expect(existsSync(worker.app.log.file)).toBe(true);
  });

  test('with keepOnFailure, a worker that saw a failure keeps its database', async ({ shipgate }) => {
    const worker = await startWorker({
      runtime: runtimeOf(shipgate, { keepOnFailure: true }),
      app: inProcess,
      root,
      workerIndex: 8,
      parallelIndex: 0,
      outDir: out,
    });
    worker.failed = true;
    const url = await worker.stop();
    const kept = new URL(url as string).pathname.slice(1);
    expect(kept).toBe(worker.database.name.replace('_t_', '_k_'));
    expect(await exists(shipgate, kept)).toBe(true);
    const dbs = new Databases(shipgate.adminUrl, { prefix: shipgate.prefix, major: shipgate.major });
    await dbs.dropByName(kept);
    await dbs.close();
  });

  test('bad app config: every problem at once, and no database is created', async ({ shipgate }) => {
    const before = new Databases(shipgate.adminUrl, { prefix: shipgate.prefix, major: shipgate.major });
    const run = startWorker({
      runtime: runtimeOf(shipgate),
      app: { command: '', factory: 'nope', readyTimeoutMs: -1 } as never,
      root,
      workerIndex: 9,
      parallelIndex: 0,
      outDir: out,
    });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(
      /4 problems[\s\S]*exactly one of "command" or "factory"[\s\S]*app\.command must be[\s\S]*app\.factory must be "path#export", got "nope"[\s\S]*app\.readyTimeoutMs is -1/,
    );
    expect(await workerDatabases(before, 9)).toEqual([]);
    await before.close();
  });

  test('an app that fails to start leaves no database behind', async ({ shipgate }) => {
    const dbs = new Databases(shipgate.adminUrl, { prefix: shipgate.prefix, major: shipgate.major });
    const run = startWorker({
      runtime: runtimeOf(shipgate),
      app: { command: ['node', '-e', 'process.exit(2)'] },
      root,
      workerIndex: 10,
      parallelIndex: 0,
      outDir: out,
    });
    await expect(run).rejects.toThrow('exited with code 2 before it was ready');
    expect(await workerDatabases(dbs, 10)).toEqual([]);
    await dbs.close();
  });
});

test('an app that connects to its database while booting starts too (the clone runs meanwhile)', async ({
  shipgate,
}) => {
  // Exits when the database is not there yet; shipgate then starts it once more after the clone.
  const script = `
    const pg = require(${JSON.stringify(path.join(root, 'node_modules/pg'))});
    const c = new pg.Client(process.env.DATABASE_URL);
    c.connect().then(() => c.query('SELECT count(*) FROM users')).then(() => {
      require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () {
        console.log(JSON.stringify({ event: 'listening', port: this.address().port }));
      });
    }, (e) => { console.error('boot failed: ' + e.message); process.exit(1); });`;
  const worker = await startWorker({
    runtime: runtimeOf(shipgate),
    app: { command: ['node', '-e', script], healthPath: '/' },
    root,
    workerIndex: 11,
    parallelIndex: 0,
    outDir: out,
  });
  try {
    expect(await (await fetch(worker.app.url)).text()).toBe('ok');
  } finally {
    await worker.stop();
  }
});

test('runtimeFromEnv: a clear error when globalSetup did not run', () => {
  expect(() => runtimeFromEnv({})).toThrow(ShipgateError);
  expect(() => runtimeFromEnv({})).toThrow(`No shipgate session for this Playwright run (${RUNTIME_ENV} is not set).`);
  expect(runtimeFromEnv({ [RUNTIME_ENV]: '{"runId":"abc"}' })).toEqual({ runId: 'abc' });
});
