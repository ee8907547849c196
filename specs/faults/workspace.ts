/**
 * The fault suite's plumbing (see harness.ts): a private place for one fault run, its child
 * processes, and what they left behind.
 *
 * A child runs with TMPDIR and SHIPGATE_EMBEDDED_DIR pointing into its workspace, so every
 * server dir (`shipgate-pg-*`) and reaper state dir (`shipgate-reaper-*`) it makes is there
 * and nowhere else, whatever other runs share the machine. Its env carries a tag, which every
 * node process it starts inherits: a tagged process alive after the run is an orphan.
 * Postgres runs with a clean env (embedded.ts), so postmasters are found by the pid file in
 * their data dir while the run lasts, and their backends by process group afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export const root = path.resolve(import.meta.dirname, '..', '..');
export const cli = path.join(root, 'plugins', 'cli', 'shipgate.ts');
export const vitestBin = path.join(root, 'node_modules', '.bin', 'vitest');

/** A finished child: how it ended, its output (colours stripped), when it started and exited. */
export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  pid: number;
  /** `performance.now()` at spawn and at exit. */
  startedAt: number;
  exitedAt: number;
}

/** A running child, in its own process group. */
export interface Launched {
  child: ChildProcess;
  pid: number;
  /** `performance.now()` at spawn. */
  startedAt: number;
  done: Promise<Run>;
  /** Resolves once the output matches `re`; rejects after `ms` or when the child exits first. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** One process as /proc shows it. */
interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  cmd: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') return undefined;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return { pid, ppid: Number(ppid), pgid: Number(pgid), cmd };
  } catch {
    return undefined;
  }
}

/** Every live process on the machine. */
export function processes(): Proc[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((n) => readProc(Number(n)))
    .filter((p): p is Proc => p !== undefined);
}

function hasTag(pid: number, tag: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`SHIPGATE_FAULT_TAG=${tag}`);
  } catch {
    return false;
  }
}

/** Line `n` (0-based) of `<serverDir>/data/postmaster.pid` as a positive integer: 0 is the pid, 3 the port. */
function postmasterField(serverDir: string, n: number): number | undefined {
  try {
    const v = Number(readFileSync(path.join(serverDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[n]);
    return Number.isInteger(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The postmaster's pid, from its pid file, if the file is there. */
export const postmasterPidOf = (serverDir: string) => postmasterField(serverDir, 0);

/** An embedded server's admin URL as shipgate prints it (password `***`), from its pid file's port. */
export function shownUrlOf(serverDir: string): string {
  return `postgres://postgres:***@127.0.0.1:${postmasterField(serverDir, 3) ?? '?'}/postgres`;
}

/** Sends `signal` to the process group led by `pid` (a postmaster leads its own); false if gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with a client on `url` (connect bounded at 5 s), then closes it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Databases whose name starts with `prefix`, with their comment. */
export async function databasesOf(
  adminUrl: string,
  prefix: string,
): Promise<{ name: string; comment: string | null }[]> {
  return withClient(adminUrl, async (c) => {
    const r = await c.query<{ datname: string; comment: string | null }>(
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
        WHERE starts_with(datname, $1) ORDER BY datname`,
      [prefix],
    );
    return r.rows.map((row) => ({ name: row.datname, comment: row.comment }));
  });
}

/** True when `comment` is a shipgate template's mark (those may stay on a server by design). */
export const isTemplateMark = (comment: string | null) => /"shipgate":"shipgate-template-v1"/.test(comment ?? '');

/** Where a run's databases live: a server, their prefix, and names there before the run (not its). */
export interface ServerScope {
  adminUrl: string;
  prefix: string;
  preexisting?: readonly string[];
}

/** What a run could leave on a server: databases of its prefix and sessions, templates aside. */
async function serverLeftovers({ adminUrl, prefix, preexisting = [] }: ServerScope): Promise<string[]> {
  const dbs = (await databasesOf(adminUrl, `${prefix}_`)).filter(
    (d) => !isTemplateMark(d.comment) && !preexisting.includes(d.name),
  );
  const sessions = await withClient(adminUrl, async (c) => {
    const r = await c.query<{ pid: number; datname: string | null; app: string }>(
      `SELECT pid, datname, application_name AS app FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND (starts_with(datname, $1) OR starts_with(application_name, 'shipgate:'))`,
      [`${prefix}_`],
    );
    return r.rows;
  });
  return [
    ...dbs.map((d) => `database "${d.name}"`),
    ...sessions.map((s) => `session ${s.pid} on "${s.datname}" (${s.app || 'no application_name'})`),
  ];
}

/** A private dir for one fault run, its children's env, and a check of what they left. */
export class Workspace {
  readonly dir: string;
  readonly tag = randomBytes(6).toString('hex');
  /** Postmasters seen in this workspace's server dirs while a child ran. */
  readonly postmasters = new Set<number>();
  private readonly running = new Set<ChildProcess>();
  /** Where the children's servers live: the workspace, and tmpfs mounts made in it. */
  private readonly serverParents: string[];
  private readonly mounts: string[] = [];

  constructor(label: string) {
    this.dir = mkdtempSync(path.join(tmpdir(), `shipgate-fault-${label}-`));
    mkdirSync(path.join(this.dir, 'report'));
    this.serverParents = [this.dir];
  }

  /**
   * Mounts a tmpfs of `mb` MiB at `<workspace>/<name>` (unmounted by {@link dispose}) and
   * watches it for servers; returns its path, or why this machine does not allow it.
   */
  tmpfs(name: string, mb: number): { dir: string } | { skipped: string } {
    const dir = path.join(this.dir, name);
    mkdirSync(dir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      return {
        skipped: `cannot mount a tmpfs at "${dir}" (root and mount rights needed): ${e.stderr?.toString().trim() || e.message}`,
      };
    }
    this.mounts.push(dir);
    this.serverParents.push(dir);
    return { dir };
  }

  /** The env of a child: this workspace's temp and server dirs, no inherited run, and the tag. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      CI: 'true',
      FORCE_COLOR: '0',
      NO_COLOR: '1',
      TMPDIR: this.dir,
      SHIPGATE_EMBEDDED_DIR: this.dir,
      SHIPGATE_REPORT_DIR: path.join(this.dir, 'report'),
      SHIPGATE_RUN_ID: '',
      SHIPGATE_DATABASE_URL: '',
      SHIPGATE_PRISMA_SCHEMA: '',
      SHIPGATE_FAULT_TAG: this.tag,
      ...extra,
    };
  }

  /** The server dirs (`shipgate-pg-*`) in this workspace. */
  serverDirs(): string[] {
    return this.serverParents.flatMap((parent) =>
      readdirSync(parent)
        .filter((n) => n.startsWith('shipgate-pg-'))
        .map((n) => path.join(parent, n)),
    );
  }

  /** Waits for a postmaster of this workspace to write its pid file; returns the pid. */
  async postmaster(ms = 60_000): Promise<number> {
    for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) {
      for (const d of this.serverDirs()) {
        const pid = postmasterPidOf(d);
        if (pid) return pid;
      }
    }
    throw new Error(`no postmaster in "${this.dir}" after ${ms} ms`);
  }

  /** Spawns `cmd args` in its own process group with {@link env}`(extra)`. */
  launch(cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}, cwd = root): Launched {
    const startedAt = performance.now();
    const child = spawn(cmd, args, { cwd, env: this.env(extra), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.running.add(child);
    let output = '';
    const waiters = new Set<() => void>();
    const onData = (d: Buffer) => {
      output += d.toString();
      for (const w of waiters) w();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const watch = setInterval(() => {
      for (const d of this.serverDirs()) {
        const pid = postmasterPidOf(d);
        if (pid) this.postmasters.add(pid);
      }
    }, 100);
    const done = new Promise<Run>((resolve) =>
      child.on('exit', (code, signal) => {
        const exitedAt = performance.now();
        clearInterval(watch);
        this.running.delete(child);
        for (const w of waiters) w();
        resolve({ code, signal, output: stripAnsi(output), pid: child.pid ?? -1, startedAt, exitedAt });
      }),
    );
    const waitFor = (re: RegExp, ms = 90_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${re} in the output after ${ms} ms:\n${output}`)), ms);
        const check = () => {
          if (re.test(stripAnsi(output))) finish();
          else if (child.exitCode !== null || child.signalCode !== null) {
            finish(new Error(`the child exited (${child.exitCode ?? child.signalCode}) before ${re}:\n${output}`));
          }
        };
        const finish = (err?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve();
        };
        waiters.add(check);
        check();
      });
    return { child, pid: child.pid ?? -1, startedAt, done, waitFor };
  }

  /**
   * What the children left, after giving the reaper and dying backends `settleMs` to finish:
   * server and reaper state dirs, tagged processes, postmasters and their backends, and on
   * `server` the databases of `prefix` (shipgate-marked templates aside) and their sessions.
   */
  async leftovers(server?: ServerScope, settleMs = 10_000): Promise<string[]> {
    let left: string[] = [];
    for (const deadline = Date.now() + settleMs; ; await sleep(200)) {
      const reaperDirs = readdirSync(this.dir)
        .filter((n) => n.startsWith('shipgate-reaper-'))
        .map((n) => path.join(this.dir, n));
      const dirs = [...this.serverDirs(), ...reaperDirs].map((d) => `dir "${d}"`);
      const procs = processes()
        .filter((p) => this.postmasters.has(p.pgid) || hasTag(p.pid, this.tag))
        .map((p) => `process ${p.pid} (${p.cmd.slice(0, 100)})`);
      left = [...dirs, ...procs, ...(server ? await serverLeftovers(server) : [])];
      if (left.length === 0 || Date.now() > deadline) return left;
    }
  }

  /** Kills what of it still runs (each child's group, its postmasters, tagged processes), unmounts, removes it. */
  async dispose(): Promise<void> {
    for (const c of this.running) if (c.pid) signalGroup(c.pid, 'SIGKILL');
    for (const pid of this.postmasters) {
      signalGroup(pid, 'SIGCONT');
      signalGroup(pid, 'SIGKILL');
    }
    for (const p of processes().filter((p) => hasTag(p.pid, this.tag))) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const m of this.mounts) {
      // A killed postmaster may hold the mount for a moment.
      for (let i = 0; i < 50; i++) {
        try {
          execFileSync('umount', [m], { stdio: 'pipe' });
          break;
        } catch {
          await sleep(100);
        }
      }
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      process.stderr.write(`fault workspace "${this.dir}" not removed: ${(err as Error).message}\n`);
    }
  }
}
