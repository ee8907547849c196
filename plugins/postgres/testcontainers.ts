/**
 * Postgres in a throwaway Docker container, via @testcontainers/postgresql. The image must
 * already be in the local engine: shipgate never pulls (no registry in CI sandboxes, and a
 * pull that cannot reach one hangs instead of failing). Containers carry `shipgate.*` labels
 * so a later run can sweep what a crashed one left behind.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { type ContainerRuntimeClient, getContainerRuntimeClient, ImageName } from 'testcontainers';
import { getReaperImage } from 'testcontainers/build/reaper/reaper.js';
import { onTeardown } from '../core/cleanup.ts';
import { describeError, ProviderError } from '../core/errors.ts';
import { processAlive } from '../core/process-alive.ts';
import { envValue } from '../core/settings.ts';
import { registerReapable } from '../reaper/reaper.ts';
import type { Availability, PostgresProvider, ProviderOptions, StartedPostgres } from './provider.ts';
import { readServerInfo } from './server-info.ts';

/** Image used when neither `options.image` nor `SHIPGATE_PG_IMAGE` is set. */
export const DEFAULT_IMAGE = 'postgres:17-alpine';
/** Label naming the run that created a container: `<pid>-<process start, epoch ms>`. */
export const RUN_LABEL = 'shipgate.run';
/** Label with the container's creation time in epoch ms; `sweepStaleContainers` reads it. */
export const CREATED_LABEL = 'shipgate.created';
/** This process's value for {@link RUN_LABEL}. */
export const RUN_ID = `${process.pid}-${Math.round(performance.timeOrigin)}`;

const INSTANCE_LABEL = 'shipgate.instance';
const CODE = 'SHIPGATE_PROVIDER_TESTCONTAINERS';
const DEFAULT_SOCKET = '/var/run/docker.sock';
const USER = 'postgres';
const ENGINE_TIMEOUT_MS = 3_000;
const FIX_NO_DOCKER = 'start a Docker engine (or set DOCKER_HOST) or set SHIPGATE_PROVIDER=embedded';

/** Where shipgate looks for the engine, for messages: DOCKER_HOST, else the default socket. */
function dockerHostLabel(): string {
  return process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
}

/** The socket path DOCKER_HOST names, or the default one when it is unset; undefined for tcp. */
function socketPath(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (!host) return DEFAULT_SOCKET;
  return host.startsWith('unix://') ? new URL(host).pathname : undefined;
}

/**
 * The engine testcontainers would use, checked to answer now. testcontainers caches its client
 * and config for the process and, when DOCKER_HOST names a missing socket, silently falls back
 * to /var/run/docker.sock. shipgate honours DOCKER_HOST instead, and checks it before
 * testcontainers reads (and caches) it.
 */
async function connect(): Promise<ContainerRuntimeClient> {
  const path = socketPath();
  if (process.env.DOCKER_HOST && path && !existsSync(path)) {
    throw new Error(`no such socket ${path}`);
  }
  // A local engine publishes ports on the host; reach them on loopback rather than through a
  // bridge address (testcontainers picks docker0's gateway when it finds /.dockerenv), so test
  // traffic never leaves 127.0.0.0/8. Set before testcontainers resolves and caches its host.
  if (path && process.env.TESTCONTAINERS_HOST_OVERRIDE === undefined) {
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  }
  return withTimeout(
    (async () => {
      const client = await getContainerRuntimeClient();
      const used = client.info.containerRuntime.remoteSocketPath;
      if (process.env.DOCKER_HOST && path && !process.env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE && used !== path) {
        throw new Error(`nothing answers on it; testcontainers fell back to unix://${used}`);
      }
      await client.container.dockerode.ping();
      return client;
    })(),
    ENGINE_TIMEOUT_MS,
    `no answer within ${ENGINE_TIMEOUT_MS} ms`,
  );
}

function noEngineReason(err: unknown): string {
  const path = socketPath();
  let why: string;
  if (path && !existsSync(path)) why = 'no such socket';
  else if (err instanceof Error && err.message.startsWith('Could not find a working container runtime strategy')) {
    why = path ? 'the socket exists but nothing answers on it' : 'it does not answer';
  } else why = describeError(err);
  return `no Docker engine answers at ${dockerHostLabel()} (${why})`;
}

function engineLabel(client: ContainerRuntimeClient): string {
  const rt = client.info.containerRuntime;
  const where = process.env.DOCKER_HOST || `unix://${rt.remoteSocketPath}`;
  return `Docker ${String(rt.serverVersion)} at ${where}`;
}

function imageOf(options: ProviderOptions): string {
  // An explicit option (already resolved by resolveProviderOptions, env over config) wins here.
  return options.image || envValue('SHIPGATE_PG_IMAGE') || DEFAULT_IMAGE;
}

function isGone(err: unknown): boolean {
  const status = (err as { statusCode?: unknown }).statusCode;
  return status === 404 || status === 409 || /no such container|already in progress/i.test(describeError(err));
}

async function removeContainer(client: ContainerRuntimeClient, id: string): Promise<boolean> {
  try {
    await client.container.dockerode.getContainer(id).remove({ force: true, v: true });
    return true;
  } catch (err) {
    if (isGone(err)) return false;
    throw err;
  }
}

async function removeByLabel(client: ContainerRuntimeClient, label: string): Promise<void> {
  const found = await client.container.dockerode.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(found.map((c) => removeContainer(client, c.Id)));
}

/**
 * Removes containers labelled `shipgate.created` that are older than `olderThanMs` (default
 * 1 h) and whose run (`shipgate.run`) is not this one nor a live process here: leftovers of
 * crashed or SIGKILLed runs. Returns the removed container ids. `start()` calls it.
 */
export async function sweepStaleContainers(options: { olderThanMs?: number } = {}): Promise<string[]> {
  const olderThanMs = options.olderThanMs ?? 60 * 60_000;
  let client: ContainerRuntimeClient;
  try {
    client = await connect();
  } catch (err) {
    throw new ProviderError(CODE, `Cannot sweep stale shipgate containers: ${noEngineReason(err)}.`, {
      cause: err,
      hint: `Fix: ${FIX_NO_DOCKER}.`,
    });
  }
  const containers = await client.container.dockerode.listContainers({
    all: true,
    filters: { label: [CREATED_LABEL] },
  });
  const removed: string[] = [];
  for (const c of containers) {
    const created = Number(c.Labels[CREATED_LABEL]);
    if (!Number.isFinite(created) || Date.now() - created < olderThanMs) continue;
    const run = c.Labels[RUN_LABEL] ?? '';
    const ownerPid = Number(run.split('-')[0]);
    // A live owner (a long watch-mode session, say) still needs its container.
    if (run === RUN_ID || (Number.isInteger(ownerPid) && ownerPid > 0 && processAlive(ownerPid))) continue;
    if (await removeContainer(client, c.Id)) removed.push(c.Id);
  }
  return removed;
}

/** testcontainers pulls Ryuk when it is missing, which cannot work without a registry. */
async function ryukUsable(client: ContainerRuntimeClient): Promise<boolean> {
  if (process.env.TESTCONTAINERS_RYUK_DISABLED === 'true') return false;
  return client.image.exists(ImageName.fromString(getReaperImage())).catch(() => false);
}

/** PGDATA from the image's env (the official postgres:18 images moved it), for the tmpfs mount. */
async function pgdataOf(client: ContainerRuntimeClient, image: ImageName): Promise<string> {
  const info = await client.image.inspect(image);
  const env = info.Config?.Env ?? [];
  return env.find((e) => e.startsWith('PGDATA='))?.slice('PGDATA='.length) || '/var/lib/postgresql/data';
}

/** Postgres in a container from a local image, tuned for tests, removed by `stop()`. */
export const testcontainersProvider: PostgresProvider = {
  name: 'testcontainers',

  async available(options: ProviderOptions): Promise<Availability> {
    let client: ContainerRuntimeClient;
    try {
      client = await connect();
    } catch (err) {
      return { ok: false, reason: `not applicable, because ${noEngineReason(err)}; ${FIX_NO_DOCKER}` };
    }
    const image = imageOf(options);
    const local = await client.image.exists(ImageName.fromString(image)).catch(() => false);
    return { ok: true, detail: `${engineLabel(client)}, image "${image}"${local ? '' : ' (not present locally)'}` };
  },

  async start(options: ProviderOptions): Promise<StartedPostgres> {
    const image = imageOf(options);
    const maxConnections = options.maxConnections ?? 200;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new ProviderError(CODE, `max_connections ${String(maxConnections)} is not a positive integer.`, {
        hint: 'Fix postgres.maxConnections or SHIPGATE_PG_MAX_CONNECTIONS.',
      });
    }
    const timeoutMs = options.startTimeoutMs ?? 60_000;

    let client: ContainerRuntimeClient;
    try {
      client = await connect();
    } catch (err) {
      throw new ProviderError(CODE, `Cannot start Postgres image "${image}": ${noEngineReason(err)}.`, {
        cause: err,
        hint: `Fix: ${FIX_NO_DOCKER}.`,
      });
    }
    await sweepStaleContainers().catch(() => undefined);

    const imageName = ImageName.fromString(image);
    if (!(await client.image.exists(imageName))) {
      throw new ProviderError(
        CODE,
        `Image "${image}" is not in the local Docker engine (${engineLabel(client)}), and shipgate does not pull images.`,
        {
          hint: `Run \`docker pull ${image}\` where a registry is reachable, or set SHIPGATE_PG_IMAGE (postgres.image) to an image the engine has.`,
        },
      );
    }

    const password = randomBytes(18).toString('base64url');
    const instance = randomUUID();
    // The container log is kept only while starting, for the error message; an open log
    // stream would keep the event loop alive for as long as the container runs.
    const logLines: string[] = [];
    let logStream: Readable | undefined;
    const container = new PostgreSqlContainer(image)
      .withUsername(USER)
      .withPassword(password)
      .withDatabase('postgres')
      // Durability buys nothing for a throwaway server; these make DDL-heavy tests much faster.
      .withCommand([
        'postgres',
        ...['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', `max_connections=${maxConnections}`].flatMap(
          (s) => ['-c', s],
        ),
      ])
      .withLabels({ [RUN_LABEL]: RUN_ID, [CREATED_LABEL]: String(Date.now()), [INSTANCE_LABEL]: instance })
      .withStartupTimeout(timeoutMs)
      .withAutoCleanup(await ryukUsable(client))
      .withLogConsumer((stream) => {
        logStream = stream;
        stream.on('data', (chunk: Buffer | string) => {
          logLines.push(...String(chunk).split('\n').filter(Boolean));
          if (logLines.length > 40) logLines.splice(0, logLines.length - 40);
        });
      });
    if (options.tmpfs !== false) container.withTmpFs({ [await pgdataOf(client, imageName)]: 'rw' });

    let started: StartedPostgreSqlContainer | undefined;
    let stopping: Promise<void> | undefined;
    // Registered before the container exists: a SIGTERM during startup removes it by label.
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        unregister();
        if (!started) return removeByLabel(client, `${INSTANCE_LABEL}=${instance}`);
        try {
          await started.stop({ timeout: 0, remove: true, removeVolumes: true });
        } catch (err) {
          if (!isGone(err)) throw err;
        }
      })();
      return stopping;
    };
    const unregister = onTeardown(`testcontainers postgres (${image})`, stop);

    try {
      started = await container.start();
    } catch (err) {
      logStream?.destroy();
      await stop().catch(() => undefined);
      const tail = logLines.length ? ` Last container log lines:\n${logLines.slice(-10).join('\n')}` : '';
      throw new ProviderError(
        CODE,
        `Postgres container from image "${image}" failed to start (startup timeout ${timeoutMs} ms): ${describeError(err)}.${tail}`,
        {
          cause: err,
          hint: 'Set SHIPGATE_PG_IMAGE to a working postgres image (e.g. shipgate/postgres:15-bookworm), or SHIPGATE_PROVIDER=embedded.',
        },
      );
    }

    logStream?.destroy();
    // If this process dies before stop() (SIGKILL, a runner's hard exit), the reaper removes it.
    const unreap = registerReapable({ kind: 'container', id: started.getId() });
    const stopAndUnreap = async () => {
      await stop();
      unreap();
    };
    const host = started.getHost();
    const port = started.getPort();
    const adminUrl = `postgres://${USER}:${password}@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
    let info: Awaited<ReturnType<typeof readServerInfo>>;
    try {
      info = await readServerInfo(adminUrl);
    } catch (err) {
      await stopAndUnreap().catch(() => undefined);
      throw new ProviderError(
        CODE,
        `Postgres container from image "${image}" started, but reading its settings failed: ${describeError(err)}`,
        {
          cause: err,
          hint: 'Set SHIPGATE_PG_IMAGE to another postgres image, or SHIPGATE_PROVIDER=embedded.',
        },
      );
    }
    return {
      provider: 'testcontainers',
      adminUrl,
      ...info,
      ephemeral: true,
      containerId: started.getId(),
      detail: `container ${started.getId().slice(0, 12)} (${image}, ${host}:${port})`,
      stop: stopAndUnreap,
      [Symbol.asyncDispose]: stopAndUnreap,
    };
  },
};

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
