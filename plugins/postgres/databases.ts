import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { debug } from '../core/debug.ts';
import { DatabaseError, describeError, redactUrl } from '../core/errors.ts';
import { endWithin, isPgTimeout, pgConnectOptions, pgTimeoutMs, timedQuery } from '../core/pg-timeouts.ts';
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
 *
 * A name is not proof of ownership: another tool, or another user, may create a look-alike.
 * Every database shipgate creates carries a `COMMENT ON DATABASE` with its format and run id,
 * and only marked databases are ever swept or pruned. A run is alive while it holds its lease,
 * a session-level advisory lock on a connection it keeps open; the server releases it when
 * the run's process dies, however it dies. So the sweep drops what belongs to a dead run, at
 * any age, and never what belongs to a live one. A run that uses a template holds a shared
 * lock on it too, and pruning skips a template that anyone holds.
 */

const log = debug('databases');

/** Bumped when the template layout changes so old templates are not reused. */
const TEMPLATE_FORMAT = 'shipgate-template-v1';
/** The ownership mark of throwaway and kept databases. */
const DB_FORMAT = 'shipgate-db-v1';
/** Advisory lock classes (two-key form, so they never meet the one-key build locks). */
const LEASE_CLASS = 0x53470001;
const TEMPLATE_USE_CLASS = 0x53470002;
/** Postgres' "database is being accessed by other users". */
const OBJECT_IN_USE = '55006';

export interface DatabasesOptions {
  /** Name prefix of every database shipgate creates. Default `shipgate`; env `SHIPGATE_DB_PREFIX`. */
  prefix?: string;
  /** Identifies this run; databases of the run are dropped by {@link Databases.dropRun}. Default: random. */
  runId?: string;
  /** Server major version, for `STRATEGY FILE_COPY` (≥ 15) and `DROP … WITH (FORCE)` (≥ 13). */
  major: number;
  /** Progress lines (template build). */
  onProgress?: ProgressFn;
  /** Lines worth a user's eye: each database swept or pruned. Default: stderr. */
  log?: (line: string) => void;
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

/** Signed 32-bit key (the second half of a two-key advisory lock) for any text. */
function key32(text: string): number {
  return createHash('sha256').update(text).digest().readInt32BE(0);
}

/** The ownership mark in a database's comment, or undefined when it is not shipgate's. */
function parseMark(comment: string | null): { run: string } | undefined {
  if (!comment?.startsWith('{')) return undefined;
  try {
    const m = JSON.parse(comment) as { shipgate?: unknown; run?: unknown };
    return m.shipgate === DB_FORMAT && typeof m.run === 'string' ? { run: m.run } : undefined;
  } catch {
    return undefined;
  }
}

/** The template mark, or undefined when the comment is not a shipgate template's. */
function parseTemplateMark(comment: string | null): { usedAt: number } | undefined {
  if (!comment?.startsWith('{')) return undefined;
  try {
    const m = JSON.parse(comment) as { shipgate?: unknown; usedAt?: unknown };
    if (m.shipgate !== TEMPLATE_FORMAT) return undefined;
    return { usedAt: Date.parse(String(m.usedAt ?? '')) || 0 };
  } catch {
    return undefined;
  }
}

/** One database of this prefix, as {@link Databases.list} sees it. */
export interface ListedDatabase {
  name: string;
  /** `t` throwaway, `k` kept, `tpl` template, `?` a look-alike. */
  kind: string;
  /** Creation time from the name, in ms since the epoch (0 for templates and look-alikes). */
  createdMs: number;
  /** The run id from the name. */
  runId: string;
  /** True when the comment marks it as shipgate's, for the run its name says. */
  owned: boolean;
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

/** Per process, not per instance: two managers of one run in one process must not collide. */
let seq = 0;

export class Databases {
  readonly adminUrl: string;
  readonly prefix: string;
  readonly runId: string;
  readonly major: number;
  private readonly admin: pg.Pool;
  private readonly onProgress: ProgressFn;
  private readonly log: (line: string) => void;
  /** Whether this instance holds the run's lease itself (false: a worker of a run whose session holds it). */
  private readonly ownsLease: boolean;
  private lease: pg.Client | undefined;
  private leasing: Promise<pg.Client | undefined> | undefined;
  /** Set after an admin statement timed out: what went unanswered. */
  private unresponsive: string | undefined;

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
    // A given run id belongs to a run whose session holds the lease (workers, the reaper).
    this.ownsLease = options.runId === undefined;
    this.major = options.major;
    this.onProgress = options.onProgress ?? (() => {});
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.admin = new pg.Pool({ connectionString: adminUrl, max: 4, idleTimeoutMillis: 1_000, ...pgConnectOptions() });
    // An idle admin connection killed by a server shutdown must not crash the process.
    this.admin.on('error', () => {});
  }

  /** Name for a new throwaway database of this run. */
  private nextName(kind: 't' | 'k' = 't'): string {
    const epoch = Math.floor(Date.now() / 1000).toString(36);
    seq += 1;
    return `${this.prefix}_${kind}_${epoch}_${this.runId}_${process.pid.toString(36)}_${seq.toString(36)}`;
  }

  /**
   * Takes this run's lease (idempotent): a session-level shared advisory lock on a connection
   * held until {@link close}. Other runs' sweeps see it in `pg_locks` and leave this run alone.
   * Instances given an existing run id do not take it; their run's session holds it.
   */
  async acquireLease(): Promise<void> {
    if (!this.ownsLease) return;
    this.leasing ??= (async () => {
      const client = new pg.Client({
        connectionString: this.adminUrl,
        application_name: `shipgate:lease:${this.runId}`,
        ...pgConnectOptions(),
      });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query(
          timedQuery('SELECT pg_advisory_lock_shared($1::int4, $2::int4)', [LEASE_CLASS, key32(this.runId)]),
        );
      } catch (err) {
        await endWithin(client, 1_000);
        this.leasing = undefined;
        throw new DatabaseError(
          'SHIPGATE_DB_ADMIN',
          `Could not take run ${this.runId}'s lease on "${redactUrl(this.adminUrl)}": ${describeError(err)}.`,
          { cause: err, hint: 'Check the server is reachable; SHIPGATE_PG_TIMEOUT_MS bounds the wait.' },
        );
      }
      this.lease = client;
      return client;
    })();
    await this.leasing;
  }

  /** Run keys whose lease is held right now, by any session on this server. */
  private async liveRunKeys(): Promise<Set<number>> {
    const { rows } = await this.adminQuery(
      `SELECT DISTINCT objid::bigint AS k FROM pg_locks
        WHERE locktype = 'advisory' AND classid = $1::oid AND objsubid = 2 AND granted`,
      [LEASE_CLASS],
    );
    return new Set(rows.map((r: { k: string }) => Number(BigInt.asIntN(32, BigInt(r.k)))));
  }

  /**
   * One admin statement, bounded by SHIPGATE_PG_TIMEOUT_MS (`ddl`: CREATE/DROP DATABASE, 6×).
   * After one timeout the server counts as unresponsive for this instance: later calls fail at
   * once instead of each waiting out its own limit, so a frozen server ends a run in one bound.
   */
  private async adminQuery(text: string, values?: unknown[], opts: { ddl?: boolean } = {}): Promise<pg.QueryResult> {
    const shown = values?.length ? `${text} (${values.map((v) => JSON.stringify(v)).join(', ')})` : text;
    if (this.unresponsive) {
      throw new DatabaseError(
        'SHIPGATE_DB_UNRESPONSIVE',
        `Postgres at "${redactUrl(this.adminUrl)}" stopped answering (${this.unresponsive}); not waiting again for: ${shown}`,
        { hint: 'Check the server; SHIPGATE_PG_TIMEOUT_MS sets how long shipgate waits.' },
      );
    }
    const ms = pgTimeoutMs() * (opts.ddl ? 6 : 1);
    try {
      return await this.admin.query(timedQuery(text, values, ms));
    } catch (err) {
      if (isPgTimeout(err)) this.unresponsive = `no answer within ${ms} ms to: ${shown}`;
      throw new DatabaseError(
        'SHIPGATE_DB_ADMIN',
        `Admin query failed on "${redactUrl(this.adminUrl)}": ${describeError(err)} — ${shown}`,
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
    await this.acquireLease();
    const client = await this.admin.connect();
    const started = performance.now();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [lockKey(hash)]);
      try {
        const { rows } = await client.query<{ datistemplate: boolean; comment: string | null }>(
          `SELECT datistemplate, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
          [name],
        );
        const existing = rows[0];
        if (existing && !parseTemplateMark(existing.comment)) {
          throw new DatabaseError(
            'SHIPGATE_DB_NOT_OURS',
            `Database "${name}" exists on "${redactUrl(this.adminUrl)}" but is not marked as a shipgate template (comment ${JSON.stringify(existing.comment)}); shipgate will not reuse or drop it.`,
            { hint: 'Drop or rename it yourself, or set SHIPGATE_DB_PREFIX / postgres.prefix to another prefix.' },
          );
        }
        if (existing?.datistemplate) {
          await this.holdTemplate(hash);
          await client.query(
            `COMMENT ON DATABASE ${quoteIdent(name)} IS ${pg.escapeLiteral(this.templateComment(hash, migrator.name))}`,
          );
          return { name, hash, built: false, buildUs: 0 };
        }
        // A marked template that is not marked complete is a crashed build: rebuild it.
        if (existing) await this.dropByName(name, client);
        this.onProgress(`template ${name}: building with migrator "${migrator.name}"`);
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
        await client.query(
          `COMMENT ON DATABASE ${quoteIdent(name)} IS ${pg.escapeLiteral(this.templateComment(hash, migrator.name))}`,
        );
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
        await this.holdTemplate(hash);
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

  /**
   * Marks the template as used by this run for as long as the run lives: a shared lock on the
   * lease connection, taken under the template's build lock so pruning cannot slip between.
   */
  private async holdTemplate(hash: string): Promise<void> {
    if (!this.lease) return;
    await this.lease.query(
      timedQuery('SELECT pg_advisory_lock_shared($1::int4, $2::int4)', [TEMPLATE_USE_CLASS, key32(hash.slice(0, 16))]),
    );
  }

  /**
   * Keeps the newest `keep` shipgate templates of this prefix (by last use) and drops older
   * ones, except a template a live run uses or is building. Look-alikes without the mark stay.
   */
  private async pruneTemplates(current: string, client: pg.PoolClient): Promise<void> {
    const keep = Number(envValue('SHIPGATE_KEEP_TEMPLATES') ?? 3);
    const { rows } = await client.query<{ datname: string; comment: string | null }>(
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE $1`,
      [`${this.prefix}\\_tpl\\_%`],
    );
    const tplName = new RegExp(`^${this.prefix}_tpl_([0-9a-f]{16})$`);
    const byUse = rows
      .filter((r) => r.datname !== current)
      .flatMap((r) => {
        const mark = parseTemplateMark(r.comment);
        const hash16 = tplName.exec(r.datname)?.[1];
        if (!mark || !hash16) {
          log('prune: %s is not marked as a shipgate template; left alone', r.datname);
          return [];
        }
        return [{ name: r.datname, hash16, usedAt: mark.usedAt }];
      })
      .sort((a, b) => b.usedAt - a.usedAt);
    for (const stale of byUse.slice(Math.max(0, keep - 1))) {
      // The build lock: a run about to reuse it takes this lock before its use lock.
      const { rows: got } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        lockKey(stale.hash16),
      ]);
      if (!got[0]?.ok) continue;
      try {
        const { rows: users } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND classid = $1::oid AND objid = ($2::int4)::oid AND objsubid = 2 AND granted`,
          [TEMPLATE_USE_CLASS, key32(stale.hash16)],
        );
        if ((users[0]?.n ?? 0) > 0) {
          log('prune: %s is used by %d live run(s); kept', stale.name, users[0]?.n);
          continue;
        }
        await this.dropByName(stale.name, client);
        this.log(
          `shipgate: pruned template "${stale.name}" (last used ${stale.usedAt ? new Date(stale.usedAt).toISOString() : 'never'}; SHIPGATE_KEEP_TEMPLATES=${keep})`,
        );
      } catch (err) {
        this.log(`shipgate: could not prune template "${stale.name}": ${describeError(err)}`);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [lockKey(stale.hash16)]).catch(() => undefined);
      }
    }
  }

  /** Marks a new database as this run's, or drops it again when marking fails. */
  private async mark(name: string): Promise<void> {
    const comment = JSON.stringify({ shipgate: DB_FORMAT, run: this.runId, createdAt: new Date().toISOString() });
    try {
      await this.adminQuery(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${pg.escapeLiteral(comment)}`);
    } catch (err) {
      await this.adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`).catch(() => undefined);
      throw err;
    }
  }

  /** Clones `template` into a new database of this run (`STRATEGY FILE_COPY` on Postgres ≥ 15). */
  async clone(template: string, poolSize = 5): Promise<TestDatabase> {
    const name = this.nextName();
    // FILE_COPY copies files and checkpoints instead of WAL-logging every block: with fsync
    // off it is several times faster than the default WAL_LOG for small schemas.
    const strategy = this.major >= 15 ? ' STRATEGY FILE_COPY' : '';
    const t = performance.now();
    await this.acquireLease();
    await this.adminQuery(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`, [], {
      ddl: true,
    });
    await this.mark(name);
    log('cloned %s from %s in %s ms', name, template, (performance.now() - t).toFixed(1));
    return this.handle(name, poolSize);
  }

  /**
   * Clones `template` under `name`, a name the caller chose up front (so an app can boot while
   * the copy runs), marked as this run's like every other clone. `name` must be this run's.
   */
  async cloneNamed(template: string, name: string): Promise<void> {
    if (!name.startsWith(`${this.prefix}_t_`) || !name.includes(`_${this.runId}_`)) {
      throw new DatabaseError(
        'SHIPGATE_DB_NOT_OURS',
        `Refusing to create "${name}": a clone of run ${this.runId} is named ${this.prefix}_t_<epoch>_${this.runId}_….`,
      );
    }
    const strategy = this.major >= 15 ? ' STRATEGY FILE_COPY' : '';
    await this.acquireLease();
    await this.adminQuery(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`, [], {
      ddl: true,
    });
    await this.mark(name);
  }

  /** Creates an empty database of this run (from template1). */
  async createEmpty(poolSize = 5): Promise<TestDatabase> {
    const name = this.nextName();
    await this.acquireLease();
    await this.adminQuery(`CREATE DATABASE ${quoteIdent(name)}`, [], { ddl: true });
    await this.mark(name);
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
        pool = new pg.Pool({ connectionString: url, max: poolSize, ...pgConnectOptions() });
        pool.on('error', () => {});
      }
      return pool;
    };
    const closePool = async () => {
      const p = pool;
      pool = undefined;
      // Bounded, and short: a pool waits for a client stuck in a query (a frozen server, or a
      // test that never released one); the DROP … WITH (FORCE) that follows ends it anyway.
      await endWithin(p, Math.min(pgTimeoutMs(), 2_000));
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
    const run = (sql: string, values?: unknown[], ddl = false) =>
      client
        ? client.query(timedQuery(sql, values, pgTimeoutMs() * (ddl ? 6 : 1)))
        : this.adminQuery(sql, values, { ddl });
    // Postgres refuses to drop a database marked as a template.
    const { rows } = await run('SELECT datistemplate FROM pg_database WHERE datname = $1', [name]);
    if (rows[0]?.datistemplate) await run(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false`);
    // FORCE gives terminated sessions 5 s to exit; a backend busy in a large COPY, or a client
    // that reconnects, can outlast that ("being accessed by other users"): terminate and retry.
    const attempts = 5;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!force || attempt > 1) await this.terminate(name, client);
        await run(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`, [], true);
        break;
      } catch (err) {
        if (this.unresponsive) throw err;
        const inUse =
          (err as { code?: string }).code === OBJECT_IN_USE || /being accessed by other users/.test(describeError(err));
        if (!inUse || attempt >= attempts) {
          const sessions = await this.sessionsOn(name).catch(() => '');
          throw new DatabaseError(
            'SHIPGATE_DB_DROP',
            `Could not drop database "${name}" on "${redactUrl(this.adminUrl)}" after ${attempt} attempt(s): ${describeError(err)}${sessions ? ` (still connected: ${sessions})` : ''}.`,
            { cause: err, hint: `Stop those sessions, then DROP DATABASE "${name}" WITH (FORCE).` },
          );
        }
        log('drop %s: in use (attempt %d), retrying', name, attempt);
        await sleep(250 * 2 ** (attempt - 1));
      }
    }
    log('dropped %s', name);
  }

  /** The sessions on `name`, for an error message: pid, application and state. */
  private async sessionsOn(name: string): Promise<string> {
    const { rows } = await this.adminQuery(
      'SELECT pid, application_name AS app, state FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    return rows
      .map((r: { pid: number; app: string; state: string }) => `pid ${r.pid} ${r.app || '?'} ${r.state ?? ''}`.trim())
      .join(', ');
  }

  /** Lists databases of this prefix with their kind, creation time and run (from the name) and mark. */
  async list(): Promise<ListedDatabase[]> {
    const { rows } = await this.adminQuery(
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE $1 ORDER BY datname`,
      [`${this.prefix}\\_%`],
    );
    const re = new RegExp(`^${this.prefix}_([tk])_([0-9a-z]+)_([0-9a-f]+)_`);
    return rows.map((r: { datname: string; comment: string | null }) => {
      const m = re.exec(r.datname);
      if (!m) {
        const tpl = r.datname.startsWith(`${this.prefix}_tpl_`);
        return {
          name: r.datname,
          kind: tpl ? 'tpl' : '?',
          createdMs: 0,
          runId: '',
          owned: tpl && parseTemplateMark(r.comment) !== undefined,
        };
      }
      const runId = m[3] as string;
      return {
        name: r.datname,
        kind: m[1] as string,
        createdMs: Number.parseInt(m[2] as string, 36) * 1000,
        runId,
        owned: parseMark(r.comment)?.run === runId,
      };
    });
  }

  /**
   * Drops every throwaway database of this run (kept ones stay). Returns the names dropped.
   * One that cannot be dropped does not stop the others; the first failure is thrown after.
   */
  async dropRun(): Promise<string[]> {
    const mine = (await this.list()).filter((d) => d.kind === 't' && d.runId === this.runId && d.owned);
    const dropped: string[] = [];
    let failure: unknown;
    for (const d of mine) {
      try {
        await this.dropByName(d.name);
        dropped.push(d.name);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
    return dropped;
  }

  /**
   * Drops the marked databases of runs that are dead, proven by their lease not being held:
   * throwaway ones at any age, kept ones once older than `keptOlderThanMs` (default 24 h, env
   * `SHIPGATE_SWEEP_KEPT_AFTER_HOURS`). Look-alikes without the mark are never touched. Each
   * name dropped is logged; the names are returned.
   */
  async sweep(keptOlderThanMs?: number): Promise<string[]> {
    const keptAfter = keptOlderThanMs ?? Number(envValue('SHIPGATE_SWEEP_KEPT_AFTER_HOURS') ?? 24) * 3_600_000;
    const listed = await this.list();
    const live = await this.liveRunKeys();
    const now = Date.now();
    const swept: string[] = [];
    for (const d of listed) {
      if (d.kind !== 't' && d.kind !== 'k') continue;
      if (!d.owned) {
        log('sweep: %s carries no shipgate mark for its run; left alone', d.name);
        continue;
      }
      if (d.runId === this.runId || live.has(key32(d.runId))) continue;
      if (d.kind === 'k' && now - d.createdMs <= keptAfter) continue;
      try {
        await this.dropByName(d.name);
        swept.push(d.name);
        this.log(
          `shipgate: swept "${d.name}", ${d.kind === 'k' ? 'kept' : 'left'} by run ${d.runId}, which holds no lease (dead)`,
        );
      } catch (err) {
        this.log(`shipgate: could not sweep "${d.name}": ${describeError(err)}`);
      }
    }
    return swept;
  }

  /** Closes shipgate's admin connections and gives up the lease (bounded by SHIPGATE_PG_TIMEOUT_MS). */
  async close(): Promise<void> {
    await this.leasing?.catch(() => undefined);
    const lease = this.lease;
    this.lease = undefined;
    this.leasing = undefined;
    await Promise.all([endWithin(this.admin), endWithin(lease)]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
