import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { getContainerRuntimeClient } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ProviderError } from '../core/errors.ts';
import type { StartedPostgres } from './provider.ts';
import {
  CREATED_LABEL,
  DEFAULT_IMAGE,
  RUN_ID,
  RUN_LABEL,
  sweepStaleContainers,
  testcontainersProvider,
} from './testcontainers.ts';

const image = process.env.SHIPGATE_PG_IMAGE || DEFAULT_IMAGE;
const docker = await testcontainersProvider.available({ image });
const noDocker = docker.ok ? '' : ` (skipped: ${docker.reason})`;
const providerUrl = pathToFileURL(`${import.meta.dirname}/testcontainers.ts`).href;

async function dockerode() {
  return (await getContainerRuntimeClient()).container.dockerode;
}

/** Ids of containers (any state) carrying `label` (`key` or `key=value`). */
async function containersWith(label: string): Promise<string[]> {
  const list = await (await dockerode()).listContainers({ all: true, filters: { label: [label] } });
  return list.map((c) => c.Id);
}

function containerIdOf(started: StartedPostgres): string {
  const id = /container ([0-9a-f]{12})/.exec(started.detail)?.[1];
  if (!id) throw new Error(`no container id in detail "${started.detail}"`);
  return id;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe(`testcontainers provider with a Docker engine${noDocker}`, () => {
  let started: StartedPostgres;

  beforeAll(async () => {
    if (!docker.ok) return;
    started = await testcontainersProvider.start({ image, maxConnections: 123 });
  }, 120_000);

  afterAll(async () => {
    await started?.stop();
  });

  test.skipIf(!docker.ok)('starts a container from the local image and runs a query', async () => {
    expect(started.provider).toBe('testcontainers');
    expect(started.ephemeral).toBe(true);
    expect(started.detail).toContain(image);
    expect(new URL(started.adminUrl).pathname).toBe('/postgres');
    const [row] = await query<{ sum: number; superuser: boolean }>(
      started.adminUrl,
      "SELECT 1 + 1 AS sum, current_setting('is_superuser') = 'on' AS superuser",
    );
    expect(row).toEqual({ sum: 2, superuser: true });
    expect(started.major).toBeGreaterThanOrEqual(13);
    expect(started.version).toMatch(/^\d+\.\d+/);
  });

  test.skipIf(!docker.ok)('tunes the server for tests and keeps PGDATA on tmpfs', async () => {
    const settings: Record<string, string> = {};
    for (const name of ['fsync', 'synchronous_commit', 'full_page_writes', 'max_connections', 'data_directory']) {
      const [row] = await query<Record<string, string>>(started.adminUrl, `SHOW ${name}`);
      settings[name] = String(Object.values(row ?? {})[0]);
    }
    expect(settings).toMatchObject({
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '123',
    });
    expect(started.maxConnections).toBe(123);
    const inspect = await (await dockerode()).getContainer(containerIdOf(started)).inspect();
    expect(Object.keys(inspect.HostConfig.Tmpfs ?? {})).toContain(settings.data_directory);
  });

  test.skipIf(!docker.ok)('labels the container with the run and creation time', async () => {
    const inspect = await (await dockerode()).getContainer(containerIdOf(started)).inspect();
    expect(inspect.Config.Labels[RUN_LABEL]).toBe(RUN_ID);
    const created = Number(inspect.Config.Labels[CREATED_LABEL]);
    expect(Date.now() - created).toBeGreaterThanOrEqual(0);
    expect(Date.now() - created).toBeLessThan(10 * 60_000);
  });

  test.skipIf(!docker.ok)(
    'stop() removes the container and can be called again',
    async () => {
      const other = await testcontainersProvider.start({ image, tmpfs: false });
      const id = containerIdOf(other);
      expect(await containersWith(`${RUN_LABEL}=${RUN_ID}`)).toEqual(
        expect.arrayContaining([expect.stringMatching(new RegExp(`^${id}`))]),
      );
      await other.stop();
      await expect((await dockerode()).getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
      await other.stop();
      await other[Symbol.asyncDispose]();
    },
    120_000,
  );

  test.skipIf(!docker.ok)(
    'SIGTERM to a process that started a container leaves no container behind',
    async () => {
      const script = `
        const { testcontainersProvider, RUN_ID } = await import(${JSON.stringify(providerUrl)});
        const started = await testcontainersProvider.start({ image: ${JSON.stringify(image)} });
        process.stdout.write(JSON.stringify({ runId: RUN_ID, detail: started.detail }) + '\\n');
        setInterval(() => {}, 60_000);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = once(child, 'exit');
      const [line] = (await Promise.race([
        once(child.stdout, 'data'),
        exited.then(() => {
          throw new Error(`child exited before starting a container: ${stderr}`);
        }),
      ])) as [Buffer];
      const { runId } = JSON.parse(line.toString()) as { runId: string };
      expect(await containersWith(`${RUN_LABEL}=${runId}`)).toHaveLength(1);

      child.kill('SIGTERM');
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }).toEqual({ code: 143, signal: null });
      expect(await containersWith(`${RUN_LABEL}=${runId}`)).toEqual([]);
    },
    120_000,
  );

  test.skipIf(!docker.ok)('an image missing locally fails fast, naming the image and the fix', async () => {
    const missing = 'shipgate/does-not-exist:never';
    const t0 = performance.now();
    const err = await testcontainersProvider.start({ image: missing }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'SHIPGATE_PROVIDER_TESTCONTAINERS' });
    expect((err as Error).message).toContain(`Image "${missing}" is not in the local Docker engine`);
    expect((err as Error).message).toContain('SHIPGATE_PG_IMAGE');
  });

  test.skipIf(!docker.ok)('sweepStaleContainers removes old containers of dead runs only', async () => {
    const engine = await dockerode();
    const create = (created: number, run: string) =>
      engine.createContainer({ Image: image, Labels: { [CREATED_LABEL]: String(created), [RUN_LABEL]: run } });
    // A pid above any pid_max: that process cannot be alive.
    const deadRun = `${2 ** 23}-1`;
    const stale = await create(Date.now() - 2 * 60 * 60_000, deadRun);
    const fresh = await create(Date.now(), deadRun);
    const mine = await create(Date.now() - 2 * 60 * 60_000, RUN_ID);
    try {
      const removed = await sweepStaleContainers({ olderThanMs: 60 * 60_000 });
      expect(removed).toContain(stale.id);
      expect(removed).not.toContain(fresh.id);
      expect(removed).not.toContain(mine.id);
      await expect(stale.inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await Promise.all([fresh, mine, stale].map((c) => c.remove({ force: true }).catch(() => undefined)));
    }
  });
});

describe('testcontainers provider without a Docker engine', () => {
  test('available() says why and how to fix it, fast; start() fails with a ProviderError', async () => {
    const saved = process.env.DOCKER_HOST;
    const host = 'unix:///nonexistent/shipgate-docker.sock';
    process.env.DOCKER_HOST = host;
    try {
      const t0 = performance.now();
      const avail = await testcontainersProvider.available({});
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect(avail).toEqual({
        ok: false,
        reason: `not applicable, because no Docker engine answers at ${host} (no such socket); start a Docker engine (or set DOCKER_HOST) or set SHIPGATE_PROVIDER=embedded`,
      });

      const err = await testcontainersProvider.start({ image }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ code: 'SHIPGATE_PROVIDER_TESTCONTAINERS' });
      expect((err as Error).message).toContain(
        `Cannot start Postgres image "${image}": no Docker engine answers at ${host}`,
      );
      expect((err as Error).cause).toBeInstanceOf(Error);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
