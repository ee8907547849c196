import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ShipgateError } from '../core/errors.ts';
import type { Reapable } from './reaper.ts';

/**
 * The reaper's state lives in a private dir (`<tmpdir>/shipgate-reaper-XXXXXX/state.json`), and
 * the reaper, often root, acts only on a dir and file that it owns and that no one else can
 * write. A fixed name in /tmp let another user pre-create or rewrite the file and have root
 * delete what it named. These checks run in the reaper process, which imports nothing heavy.
 */

/** Prefix of the private state dir under the OS temp dir. */
export const STATE_DIR_PREFIX = 'shipgate-reaper-';
/** Name of the state file inside the private dir. */
export const STATE_FILE_NAME = 'state.json';
/**
 * The only dirs the reaper removes: embedded server dirs. Defined here, where the reaper
 * process can read it without loading the provider; plugins/postgres/embedded.ts names its
 * dirs with it.
 */
export const SERVER_DIR_PREFIX = 'shipgate-pg-';

/** The reaper's state dir or file is not private; the message names the path and what is wrong. */
export class ReaperStateError extends ShipgateError {}

/** What the parent writes and the reaper reads. */
export interface ReaperState {
  parent: number;
  resources: Reapable[];
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Why `st` (from lstat) is not a private dir of `uid`, or undefined: it must be a real dir
 * (not a symlink), owned by `uid`, with permission bits exactly 0700. Without a uid (Windows)
 * only the kind is checked; there the temp dir is per user.
 */
export function privateDirProblem(st: Stats, uid: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return 'the dir is a symlink';
  if (!st.isDirectory()) return 'not a directory';
  if (uid === undefined) return undefined;
  if (st.uid !== uid) return `the dir is owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o777) !== 0o700) return `the dir has mode ${octal(st.mode)}, not 0700`;
  return undefined;
}

/**
 * Why `st` (from lstat or fstat) is not a state file of `uid`, or undefined: a regular file
 * with one link (a hard link could name someone else's file), owned by `uid`, not writable by
 * group or others.
 */
export function stateFileProblem(st: Stats, uid: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return 'the file is a symlink';
  if (!st.isFile()) return 'not a regular file';
  if (st.nlink !== 1) return `the file has ${st.nlink} hard links`;
  if (uid === undefined) return undefined;
  if (st.uid !== uid) return `the file is owned by uid ${st.uid}, not ${uid}`;
  if (st.mode & 0o022) return `the file has mode ${octal(st.mode)}, writable by group or others`;
  return undefined;
}

/** Why `dir` may not be removed by the reaper, or undefined: absolute, normalised, `shipgate-pg-…`. */
export function reapableDirProblem(dir: unknown): string | undefined {
  if (typeof dir !== 'string') return `dir ${JSON.stringify(dir)} is not a string`;
  if (!path.isAbsolute(dir) || path.normalize(dir) !== dir) return `dir "${dir}" is not an absolute normalised path`;
  if (!path.basename(dir).startsWith(SERVER_DIR_PREFIX)) return `dir "${dir}" is not named ${SERVER_DIR_PREFIX}…`;
  return undefined;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Why `r` is not a well-formed resource, or undefined. */
function resourceProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null) return `resource ${JSON.stringify(r)} is not an object`;
  const o = r as Record<string, unknown>;
  if (o.kind === 'process') {
    if (!isString(o.pidFile) || !path.isAbsolute(o.pidFile))
      return `process pidFile ${JSON.stringify(o.pidFile)} is not an absolute path`;
    if (!Array.isArray(o.dirs)) return 'process dirs is not an array';
    for (const d of o.dirs) {
      const problem = reapableDirProblem(d);
      if (problem) return problem;
    }
    return undefined;
  }
  if (o.kind === 'container') {
    return isString(o.id) && /^[0-9a-f]{12,64}$/i.test(o.id)
      ? undefined
      : `container id ${JSON.stringify(o.id)} is not a hex id`;
  }
  if (o.kind === 'databases') {
    return isString(o.adminUrl) && isString(o.prefix) && isString(o.runId)
      ? undefined
      : 'databases entry lacks adminUrl, prefix or runId';
  }
  return `unknown resource kind ${JSON.stringify(o.kind)}`;
}

/** Why `value` is not the state of `parent`, or undefined. A bad entry rejects the whole file. */
export function stateProblem(value: unknown, parent: number): string | undefined {
  if (typeof value !== 'object' || value === null) return 'the content is not an object';
  const { parent: p, resources } = value as Record<string, unknown>;
  if (p !== parent) return `the content names parent ${JSON.stringify(p)}, not ${parent}`;
  if (!Array.isArray(resources)) return 'resources is not an array';
  for (const r of resources) {
    const problem = resourceProblem(r);
    if (problem) return problem;
  }
  return undefined;
}

/** The result of {@link loadState}: the state, no state dir, or why nothing may be done. */
export type LoadedState = { state: ReaperState } | { absent: true } | { problem: string };

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Reads `file` as the state of `parent`, for the reaper running as `uid`. The dir and the file
 * are checked with lstat before the open and again on the open descriptor, so a swap between
 * the check and the read is caught. `absent` when the dir is gone (a clean stop).
 */
export function loadState(file: string, parent: number, uid: number | undefined): LoadedState {
  const dir = path.dirname(file);
  const dirBefore = lstatOrUndefined(dir);
  if (!dirBefore) return { absent: true };
  const dirProblem = privateDirProblem(dirBefore, uid);
  if (dirProblem) return { problem: dirProblem };
  const fileBefore = lstatOrUndefined(file);
  // A private dir without a file: the parent died between making the dir and writing, or
  // between removing the file and the dir. Nothing is listed; the dir itself may go.
  if (!fileBefore) return { state: { parent, resources: [] } };
  const fileProblem = stateFileProblem(fileBefore, uid);
  if (fileProblem) return { problem: fileProblem };
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    return { problem: `cannot open the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  let text: string;
  try {
    const opened = fstatSync(fd);
    if (opened.ino !== fileBefore.ino || opened.dev !== fileBefore.dev)
      return { problem: 'the file was replaced while being read' };
    const openedProblem = stateFileProblem(opened, uid);
    if (openedProblem) return { problem: openedProblem };
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const dirAfter = lstatOrUndefined(dir);
  if (!dirAfter || dirAfter.ino !== dirBefore.ino || dirAfter.dev !== dirBefore.dev) {
    return { problem: 'the dir was replaced while being read' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'the content is not JSON' };
  }
  const problem = stateProblem(value, parent);
  return problem ? { problem } : { state: value as ReaperState };
}
