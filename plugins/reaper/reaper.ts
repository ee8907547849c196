import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ownModulePath } from '../core/own-files.ts';
import { processAlive } from '../core/process-alive.ts';
import { envValue } from '../core/settings.ts';
import { privateDirProblem, ReaperStateError, STATE_DIR_PREFIX, STATE_FILE_NAME } from './state.ts';

/**
 * A local Ryuk. Test runners exit hard on signals (Vitest calls process.exit() 1 ms after
 * SIGTERM), and a SIGKILL runs no handler at all, so async teardown alone cannot promise that
 * servers, containers and databases go away. The first registration spawns a detached watcher
 * process; it polls this process's pid and, once it is gone, reaps whatever is still listed in
 * the state file. Graceful teardown unregisters resources, so the reaper then has nothing to do.
 *
 * The state file sits in a private dir made by mkdtemp (exclusive, 0700), never at a fixed
 * name in /tmp: the reaper may run as root, and a file another user can pre-create or rewrite
 * would let them choose what root deletes (see state.ts for the reaper's checks). The dir goes
 * when the last resource is unlisted, and the watcher for it exits when it sees that.
 */

/** A resource the reaper removes if this process dies without removing it itself. */
export type Reapable =
  | { kind: 'process'; pidFile: string; dirs: string[] }
  | { kind: 'container'; id: string }
  | { kind: 'databases'; adminUrl: string; prefix: string; runId: string };

interface StateDir {
  dir: string;
  file: string;
}

const entries = new Map<number, Reapable>();
let nextId = 1;
let writes = 0;
let current: StateDir | undefined;

/** True when a live reaper process (Linux: /proc) was started on `file`. */
function watched(file: string): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true; // cannot tell: leave it
  }
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(file)) return true;
    } catch {
      // gone, or not ours to read
    }
  }
  return false;
}

/**
 * Removes the state dirs of runs that died together with their reaper (a SIGKILL of the whole
 * process group): private dirs of this user whose parent is gone and that no reaper watches.
 * What they listed is not acted on here; the sweeps of servers and databases remove that.
 */
function sweepStaleStateDirs(): void {
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(STATE_DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(tmpdir(), name);
    try {
      const st = lstatSync(dir);
      // Young dirs are left alone: a run (or a test) may be about to start a reaper on it.
      if (privateDirProblem(st, uid) || Date.now() - st.mtimeMs < 1_000) continue;
      const file = path.join(dir, STATE_FILE_NAME);
      let parent: number | undefined;
      try {
        parent = Number((JSON.parse(readFileSync(file, 'utf8')) as { parent?: unknown }).parent);
      } catch {
        // no file yet, or half written: judge by age below
      }
      if (parent !== undefined && Number.isInteger(parent) && parent > 0) {
        if (parent === process.pid || processAlive(parent)) continue;
      } else if (Date.now() - st.mtimeMs < 10 * 60_000) continue;
      if (watched(file)) continue;
      rmSync(dir, { recursive: true, force: true });
      process.stderr.write(
        `shipgate: removed reaper state "${dir}" of run ${parent ?? '?'}, which is gone with its reaper\n`,
      );
    } catch {
      // another run removed it first
    }
  }
}

function openStateDir(): StateDir {
  sweepStaleStateDirs();
  const dir = mkdtempSync(path.join(tmpdir(), STATE_DIR_PREFIX));
  // mkdtemp already makes it 0700; set it anyway so no platform default or ACL widens it.
  chmodSync(dir, 0o700);
  const problem = privateDirProblem(lstatSync(dir), process.getuid?.());
  if (problem) {
    throw new ReaperStateError('SHIPGATE_REAPER_STATE', `Reaper state dir "${dir}" is not private: ${problem}.`, {
      hint: 'Point TMPDIR at a directory only you can write, or set SHIPGATE_REAPER=0 to run without the reaper.',
    });
  }
  return { dir, file: path.join(dir, STATE_FILE_NAME) };
}

function writeState(s: StateDir): void {
  // A new name per write, created exclusively and never through a symlink, then renamed over.
  const tmp = path.join(s.dir, `${STATE_FILE_NAME}.${writes++}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, JSON.stringify({ parent: process.pid, resources: [...entries.values()] }));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, s.file);
}

function closeStateDir(): void {
  if (!current) return;
  rmSync(current.dir, { recursive: true, force: true });
  current = undefined;
  // Again at the end: a dir too young to judge when this run began is old enough now.
  sweepStaleStateDirs();
}

function spawnReaper(s: StateDir): void {
  const script = ownModulePath('./reaper-process.ts', import.meta.url);
  // detached: its own process group, so the Ctrl-C that stops the runner does not stop it.
  const child = spawn(process.execPath, [script, String(process.pid), s.file], { detached: true, stdio: 'ignore' });
  child.unref();
}

// A normal exit with nothing listed leaves no dir; with something listed, the reaper needs it.
process.on('exit', () => {
  if (entries.size === 0) closeStateDir();
});

/** The state file in use, or undefined while nothing is listed (for tests). */
export function reaperStateFile(): string | undefined {
  return current?.file;
}

/**
 * Lists `resource` for reaping; returns a function that unlists it (call after a clean stop).
 * `SHIPGATE_REAPER=0` turns this into a no-op (default: on).
 */
export function registerReapable(resource: Reapable): () => void {
  if (envValue('SHIPGATE_REAPER') === '0') return () => {};
  const fresh = !current;
  current ??= openStateDir();
  const id = nextId++;
  entries.set(id, resource);
  writeState(current);
  if (fresh) spawnReaper(current);
  return () => {
    if (!entries.delete(id)) return;
    if (entries.size === 0) closeStateDir();
    else if (current) writeState(current);
  };
}
