/**
 * What the fault scenarios (harness.ts) inject faults into, and how: a standalone Postgres of
 * our own to freeze or share, a port that accepts and never answers, a file system to fill,
 * and a kill of a runner together with its detached reaper.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { embeddedProvider } from '../../plugins/postgres/embedded.ts';
import type { StartedPostgres } from '../../plugins/postgres/provider.ts';
import { type Launched, postmasterPidOf, processes, signalGroup, withClient } from './workspace.ts';

/** A standalone server of our own (the embedded provider) and its postmaster. */
export interface Standalone extends AsyncDisposable {
  server: StartedPostgres;
  adminUrl: string;
  postmaster: number;
  /** The admin URL with its password as `***`, as shipgate prints it. */
  shown: string;
}

/** Starts one (in /dev/shm or the OS temp dir, not in a workspace: it is not a child's leftover). */
export async function startStandalone(): Promise<Standalone> {
  const server = await embeddedProvider.start({ maxConnections: 100 });
  const dir = server.detail.split(' (')[0] as string;
  const postmaster = postmasterPidOf(dir);
  if (!postmaster) {
    await server.stop();
    throw new Error(`the standalone server in "${dir}" wrote no postmaster.pid`);
  }
  const u = new URL(server.adminUrl);
  u.password = '***';
  return {
    server,
    adminUrl: server.adminUrl,
    postmaster,
    shown: u.toString(),
    // A frozen server must be resumed before its stop can be heard.
    [Symbol.asyncDispose]: async () => {
      signalGroup(postmaster, 'SIGCONT');
      await server.stop();
    },
  };
}

/** Waits (at most `ms`) until the server has closed the sessions of runs that are gone. */
export async function sessionsGone(adminUrl: string, prefix: string, ms = 15_000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(100)) {
    const n = await withClient(adminUrl, async (c) => {
      const r = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid()
            AND (starts_with(datname, $1) OR starts_with(application_name, 'shipgate:'))`,
        [`${prefix}_`],
      );
      return r.rows[0]?.n ?? 0;
    });
    if (n === 0) return;
  }
}

/** A TCP listener on 127.0.0.1 that accepts connections and never answers. */
export async function blackHole(): Promise<
  { port: number; firstConnectionAt(): number | undefined } & AsyncDisposable
> {
  const sockets = new Set<net.Socket>();
  let first: number | undefined;
  const server = net.createServer((socket) => {
    first ??= performance.now();
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    firstConnectionAt: () => first,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The black hole's URL: its password must never be printed, the rest must. */
export const BLACK_HOLE_PASSWORD = 's3cr3t-black-hole';
export const blackHoleUrl = (port: number) => `postgres://u:${BLACK_HOLE_PASSWORD}@127.0.0.1:${port}/db`;
/** The black hole's URL as the output must show it. */
export const shownBlackHole = (url: string) => url.replace(BLACK_HOLE_PASSWORD, '***');

/** Fills `dir`'s file system (fallocate) until `leaveMb` MiB are free. */
export function fill(dir: string, leaveMb: number): void {
  const free = Number(execFileSync('df', ['--output=avail', '-k', dir]).toString().trim().split('\n')[1]);
  const kb = Math.max(0, free - leaveMb * 1024);
  execFileSync('fallocate', ['-l', `${kb}K`, path.join(dir, `fill-${Date.now()}`)]);
}

/** SIGKILLs the child's detached reaper and then the child's whole process group, back to back. */
export function killRunnerAndReaper(run: Launched): void {
  for (const p of processes()) {
    const argv = p.cmd.split(' ');
    if (argv.some((a) => a.endsWith('reaper-process.ts')) && argv.includes(String(run.pid))) {
      process.kill(p.pid, 'SIGKILL');
    }
  }
  signalGroup(run.pid, 'SIGKILL');
}
