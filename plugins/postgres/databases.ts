import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { debug } from '../core/debug.ts';
import { DatabaseError, describeError, redactUrl } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';
import type { Migrator, ProgressFn } from '../migrate/migrator.ts';

/**
 * Database lifecycle on one server, after pgtestdb: migrations run once into a template named
 * by the hash of everything that determines its content, under an advisory lock; each test
 * file (or test) gets a clone. Only databases carrying the prefix are ever created or dropped.
 *
 * Names (Postgres identifiers, max 63 bytes):
 *   <prefix>_tpl_<hash16>                 template
 *   <prefix>_t_<epoch36>_<run>_<seq36>    throwaway clone or empty database of run <run>
 *   <prefix>_k_<epoch36>_<run>_<seq36>    kept after a failure (SHIPGATE_KEEP_ON_FAILURE)
 */

const log = debug('databases');

/** Bumped when the template layout changes so old templates are not reused. */
const TEMPLATE_FORMAT = 'shipgate-template-v1';

export interface DatabasesOptions {
  /** Name prefix of every database shipgate creates. Default `shipgate`; env `SHIPGATE_DB_PREFIX`. */
  prefix?: string;
  /** Identifies this run; databases of the run are dropped by {@link Databases.dropRun}. Default: random. */
  runId?: string;
  /** Server major version, for `STRATEGY FILE_COPY` (≥ 15) and `DROP … WITH (FORCE)` (≥ 13). */
  major: number;
  /** Progress lines (template build). */
  onProgress?: ProgressFn;
}

/** A built template. */
export interface Template {
  name: string;
  hash: string;
  /** True when this call built it; false when an existing one was reused. */
  built: boolean;
  /** Microseconds spent building (0 when reused). */
  buildUs: number;
}

/** A throwaway database with its URL and a lazily created pg pool. */
export interface TestDatabase extends AsyncDisposable {
  readonly name: string;
  readonly url: string;
  /** Lazily created pool (max from `poolSize`). */
  readonly pool: pg.Pool;
  /** Runs one query on the pool. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Closes the pool and drops the database. Idempotent. */
  drop(): Promise<void>;
  /** Closes the pool and renames the database to the kept prefix; returns its new URL. */
  keep(): Promise<string>;
}

/** Replaces the database name in a Postgres URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Signed 64-bit advisory lock key from a hex digest. */
function lockKey(hex: string): string {
  return BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString();
}

/** Computes a template hash from the migrator hash plus everything else that shapes the content. */
export function templateHash(parts: { migratorHash: string; seedKey?: string; major: number }): string {
  return createHash('sha256')
    .update(TEMPLATE_FORMAT)
    .update('\0')
    .update(parts.migratorHash)
    .update('\0')
    .update(parts.seedKey ?? '')
    .update('\0')
    .update(String(parts.major))
    .digest('hex');
}

export class Databases {
  readonly adminUrl: string;
  readonly prefix: string;
  readonly runId: string;
  readonly major: number;
  private readonly admin: pg.Pool;
  private readonly onProgress: ProgressFn;
  private seq = 0;

  constructor(adminUrl: string, options: DatabasesOptions) {
    this.adminUrl = adminUrl;
    this.prefix = options.prefix ?? envValue('SHIPGATE_DB_PREFIX') ?? 'shipgate';
    if (!/^[a-z][a-z0-9]{0,15}$/.test(this.prefix)) {
      throw new DatabaseError(
        'SHIPGATE_DB_PREFIX',
        `Database prefix "${this.prefix}" must match [a-z][a-z0-9]{0,15}.`,
        {
          hint: 'Fix SHIPGATE_DB_PREFIX / postgres.prefix.',
        },
      );
    }
    this.runId = options.runId ?? randomBytes(4).toString('hex');
    this.major = options.major;
    this.onProgress = options.onProgress ?? (() => {});
    this.admin = new pg.Pool({ connectionString: adminUrl, max: 4, idleTimeoutMillis: 1_000 });
    // An idle admin connection killed by a server shutdown must not crash the process.
    this.admin.on('error', () => {});
  }

  /** Name for a new throwaway database of this run. */
  private nextName(kind: 't' | 'k' = 't'): string {
    const epoch = Math.floor(Date.now() / 1000).toString(36);
    this.seq += 1;
    return `${this.prefix}_${kind}_${epoch}_${this.runId}_${process.pid.toString(36)}_${this.seq.toString(36)}`;
  }

  private async adminQuery(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.admin.query(text, values);
    } catch (err) {
      throw new DatabaseError(
        'SHIPGATE_DB_ADMIN',
        `Admin query failed on "${redactUrl(this.adminUrl)}": ${describeError(err)} — ${text}`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Returns the template for `hash`, building it with `migrator` (and `seed`) if it does not
   * exist yet. Parallel processes serialise on an advisory lock, so it is built once.
   */
  async ensureTemplate(
    migrator: Migrator,
    opts: { seed?: (url: string) => Promise<void>; seedKey?: string } = {},
  ): Promise<Template> {
    const hash = templateHash({ migratorHash: await migrator.hash(), seedKey: opts.seedKey, major: this.major });
    const name = `${this.prefix}_tpl_${hash.slice(0, 16)}`;
    const client = await this.admin.connect();
    const started = performance.now();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [lockKey(hash)]);
      try {
        const { rows } = await client.query<{ datistemplate: boolean }>(
          'SELECT datistemplate FROM pg_database WHERE datname = $1',
          [name],
        );
        if (rows[0]?.datistemplate) {
          await client.query(
            `COMMENT ON DATABASE ${quoteIdent(name)} IS ${pg.escapeLiteral(this.templateComment(hash, migrator.name))}`,
          );
          return { name, hash, built: false, buildUs: 0 };
        }
        // A template that is not marked complete is a crashed build: rebuild it.
        if (rows[0]) await this.dropByName(name, client);
        this.onProgress(`template ${name}: building with migrator "${migrator.name}"`);
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
        const url = withDatabase(this.adminUrl, name);
        try {
          await migrator.migrate(url, { onProgress: this.onProgress });
          if (opts.seed) {
            this.onProgress(`template ${name}: seeding`);
            await opts.seed(url);
          }
        } catch (err) {
          await this.dropByName(name, client).catch(() => undefined);
          throw err;
        }
        // Clones need the template free of sessions; a migrator or seed may leave an idle one.
        await this.terminate(name, client);
        await client.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
        await client.query(
          `COMMENT ON DATABASE ${quoteIdent(name)} IS ${pg.escapeLiteral(this.templateComment(hash, migrator.name))}`,
        );
        await this.pruneTemplates(name, client);
        const buildUs = Math.round((performance.now() - started) * 1000);
        this.onProgress(`template ${name}: built in ${(buildUs / 1000).toFixed(0)} ms`);
        return { name, hash, built: true, buildUs };
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [lockKey(hash)]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }

  private templateComment(hash: string, migrator: string): string {
    return JSON.stringify({ shipgate: TEMPLATE_FORMAT, hash, migrator, usedAt: new Date().toISOString() });
  }

  /** Keeps the newest `keep` templates of this prefix (by last use), drops older ones. */
  private async pruneTemplates(current: string, client: pg.PoolClient): Promise<void> {
    const keep = Number(envValue('SHIPGATE_KEEP_TEMPLATES') ?? 3);
    const { rows } = await client.query<{ datname: string; comment: string | null }>(
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE $1`,
      [`${this.prefix}\\_tpl\\_%`],
    );
    const byUse = rows
      .filter((r) => r.datname !== current)
      .map((r) => {
        let usedAt = 0;
        try {
          usedAt = Date.parse((JSON.parse(r.comment ?? '{}') as { usedAt?: string }).usedAt ?? '') || 0;
        } catch {
          // not ours to interpret; oldest first
        }
        return { name: r.datname, usedAt };
      })
      .sort((a, b) => b.usedAt - a.usedAt);
    for (const stale of byUse.slice(Math.max(0, keep - 1))) {
      await this.dropByName(stale.name, client).catch(() => undefined);
    }
  }

  /** Clones `template` into a new database of this run (`STRATEGY FILE_COPY` on Postgres ≥ 15). */
  async clone(template: string, poolSize = 5): Promise<TestDatabase> {
    const name = this.nextName();
    // FILE_COPY copies files and checkpoints instead of WAL-logging every block: with fsync
    // off it is several times faster than the default WAL_LOG for small schemas.
    const strategy = this.major >= 15 ? ' STRATEGY FILE_COPY' : '';
    const t = performance.now();
    await this.adminQuery(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`);
    log('cloned %s from %s in %s ms', name, template, (performance.now() - t).toFixed(1));
    return this.handle(name, poolSize);
  }

  /** Creates an empty database of this run (from template1). */
  async createEmpty(poolSize = 5): Promise<TestDatabase> {
    const name = this.nextName();
    await this.adminQuery(`CREATE DATABASE ${quoteIdent(name)}`);
    return this.handle(name, poolSize);
  }

  /** Wraps an existing database of this run in a handle. */
  handle(name: string, poolSize = 5): TestDatabase {
    let url = withDatabase(this.adminUrl, name);
    let pool: pg.Pool | undefined;
    let gone = false;
    const getPool = () => {
      if (gone) throw new DatabaseError('SHIPGATE_DB_GONE', `Database "${name}" was already dropped or kept.`);
      if (!pool) {
        pool = new pg.Pool({ connectionString: url, max: poolSize });
        pool.on('error', () => {});
      }
      return pool;
    };
    const closePool = async () => {
      const p = pool;
      pool = undefined;
      await p?.end().catch(() => undefined);
    };
    const drop = async () => {
      if (gone) return;
      gone = true;
      await closePool();
      await this.dropByName(name);
    };
    const self = this;
    return {
      name,
      get url() {
        return url;
      },
      get pool() {
        return getPool();
      },
      query: (text, values) => getPool().query(text, values),
      drop,
      async keep() {
        gone = true;
        await closePool();
        const kept = name.replace(`${self.prefix}_t_`, `${self.prefix}_k_`);
        await self.terminate(name);
        await self.adminQuery(`ALTER DATABASE ${quoteIdent(name)} RENAME TO ${quoteIdent(kept)}`);
        url = withDatabase(self.adminUrl, kept);
        return url;
      },
      [Symbol.asyncDispose]: drop,
    };
  }

  /** Terminates other sessions on `name` (leaked pools, idle clients). */
  private async terminate(name: string, client?: pg.PoolClient): Promise<void> {
    const sql = 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()';
    if (client) await client.query(sql, [name]);
    else await this.adminQuery(sql, [name]);
  }

  /** Drops one database of this prefix, terminating its connections first. */
  async dropByName(name: string, client?: pg.PoolClient): Promise<void> {
    if (!name.startsWith(`${this.prefix}_`)) {
      throw new DatabaseError(
        'SHIPGATE_DB_NOT_OURS',
        `Refusing to drop "${name}": it does not carry the prefix "${this.prefix}_".`,
      );
    }
    const force = this.major >= 13 ? ' WITH (FORCE)' : '';
    if (!force) await this.terminate(name, client);
    const run = (sql: string, values?: unknown[]) =>
      client ? client.query(sql, values) : this.adminQuery(sql, values);
    // Postgres refuses to drop a database marked as a template.
    const { rows } = await run('SELECT datistemplate FROM pg_database WHERE datname = $1', [name]);
    if (rows[0]?.datistemplate) await run(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false`);
    await run(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`);
    log('dropped %s', name);
  }

  /** Lists databases of this prefix with their kind and creation time (from the name). */
  async list(): Promise<{ name: string; kind: string; createdMs: number; runId: string }[]> {
    const { rows } = await this.adminQuery('SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname', [
      `${this.prefix}\\_%`,
    ]);
    const re = new RegExp(`^${this.prefix}_([tk])_([0-9a-z]+)_([0-9a-f]+)_`);
    return rows.map((r: { datname: string }) => {
      const m = re.exec(r.datname);
      if (!m) return { name: r.datname, kind: r.datname.includes('_tpl_') ? 'tpl' : '?', createdMs: 0, runId: '' };
      return {
        name: r.datname,
        kind: m[1] as string,
        createdMs: Number.parseInt(m[2] as string, 36) * 1000,
        runId: m[3] as string,
      };
    });
  }

  /** Drops every throwaway database of this run (kept ones stay). Returns the names dropped. */
  async dropRun(): Promise<string[]> {
    const mine = (await this.list()).filter((d) => d.kind === 't' && d.runId === this.runId);
    for (const d of mine) await this.dropByName(d.name);
    return mine.map((d) => d.name);
  }

  /**
   * Drops throwaway databases of other runs older than `olderThanMs` (crashed runs), and kept
   * ones older than `keptOlderThanMs`. Default 60 min / 24 h; env `SHIPGATE_SWEEP_AFTER_MINUTES`.
   */
  async sweep(olderThanMs?: number, keptOlderThanMs = 24 * 3_600_000): Promise<string[]> {
    const after = olderThanMs ?? Number(envValue('SHIPGATE_SWEEP_AFTER_MINUTES') ?? 60) * 60_000;
    const now = Date.now();
    const stale = (await this.list()).filter(
      (d) =>
        d.runId !== this.runId &&
        ((d.kind === 't' && now - d.createdMs > after) || (d.kind === 'k' && now - d.createdMs > keptOlderThanMs)),
    );
    for (const d of stale) await this.dropByName(d.name).catch(() => undefined);
    return stale.map((d) => d.name);
  }

  /** Closes shipgate's admin connections. */
  async close(): Promise<void> {
    await this.admin.end().catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
