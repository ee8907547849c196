/**
 * The embedded provider's initdb cache, on real servers: the first start publishes a pristine
 * cluster, the next copies it and still gets a password of its own; a cache dir that is not
 * the server user's private dir is neither used nor removed; SHIPGATE_EMBEDDED_INITDB_CACHE=0
 * turns it off.
 */
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { embeddedProvider } from './embedded.ts';
import { INITDB_CACHE_PREFIX, initdbCacheDir } from './initdb-cache.ts';

const dirs: string[] = [];
function parent(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-initdb-cache-spec-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  delete process.env.SHIPGATE_EMBEDDED_INITDB_CACHE;
  delete process.env.SHIPGATE_EMBEDDED_DIR;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Starts a server with its dir in a scratch parent and the cache in `cacheDir`. */
function start(cacheDir: string) {
  process.env.SHIPGATE_EMBEDDED_INITDB_CACHE = cacheDir;
  return embeddedProvider.start({ embeddedDir: servers });
}
let servers = '';

const caches = (dir: string) => readdirSync(dir).filter((n) => n.startsWith(INITDB_CACHE_PREFIX));

async function connects(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

describe('embedded: initdb cache', { timeout: 120_000 }, () => {
  beforeEach(() => {
    servers = parent();
  });
  afterEach(() => {
    // SHIPGATE_EMBEDDED_DIR holds server dirs only: the cache is never put there.
    expect(readdirSync(servers)).toEqual([]);
  });

  test('the first start publishes the cache, the next copies it, each with its own password', async () => {
    const dir = parent();
    const first = await start(dir);
    try {
      expect(first.detail).not.toContain('initdb cache');
      expect(caches(dir)).toHaveLength(1);
      const cache = path.join(dir, caches(dir)[0] as string);
      expect(statSync(cache).mode & 0o777).toBe(0o700);
      const second = await start(dir);
      try {
        expect(second.detail).toContain('cluster copied from the initdb cache');
        expect(await connects(second.adminUrl)).toBe(true);
        // The first server's password does not open the second: the copy got a new one.
        const u = new URL(second.adminUrl);
        u.password = new URL(first.adminUrl).password;
        expect(await connects(u.toString())).toBe(false);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
    expect(readdirSync(dir)).toEqual(caches(dir));
  });

  test('a cache dir that is not private to the server user is neither used nor removed', async () => {
    const dir = parent();
    const built = await start(dir);
    await built.stop();
    const [name] = caches(dir);
    const cache = path.join(dir, name as string);
    chmodSync(cache, 0o755);
    const open = await start(dir);
    try {
      expect(open.detail).not.toContain('initdb cache');
    } finally {
      await open.stop();
    }
    expect(statSync(cache).mode & 0o777).toBe(0o755);
    // Another owner (as root: root's, where the server runs as "postgres"), mode 0700.
    if (process.getuid?.() === 0) {
      chmodSync(cache, 0o700);
      chownSync(cache, 0, 0);
      const foreign = await start(dir);
      try {
        expect(foreign.detail).not.toContain('initdb cache');
      } finally {
        await foreign.stop();
      }
      expect(statSync(cache).uid).toBe(0);
    }
  });

  test('SHIPGATE_EMBEDDED_INITDB_CACHE=0: a valid cache is not used', async () => {
    const warm = parent();
    await (await start(warm)).stop();
    expect(caches(warm)).toHaveLength(1);
    process.env.SHIPGATE_EMBEDDED_INITDB_CACHE = '0';
    expect(initdbCacheDir(warm, { binDir: '/', version: '15', server: '15', initdbArgs: [], uid: 0 })).toBeUndefined();
    const off = await embeddedProvider.start({ embeddedDir: servers });
    try {
      expect(off.detail).not.toContain('initdb cache');
    } finally {
      await off.stop();
    }
    expect(caches(warm)).toHaveLength(1);
  });
});
