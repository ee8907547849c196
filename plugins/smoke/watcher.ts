/**
 * The lock and rewrite watcher: a second connection that, while a migration file runs,
 * samples `pg_locks` joined with `pg_stat_activity` for the migrating backend every few ms.
 *
 * Measurement notes:
 * - A file runs as one transaction (one statement, or an implicit transaction around
 *   several), so a relation lock it takes is held until the file ends: a lock counts from the
 *   first sample that shows it granted to the end of the file. Hold times are accurate to
 *   about one sampling interval, which is reported.
 * - The first 50 ms are sampled back to back (one round trip apart); after that, every
 *   `intervalMs`. Write-blocking locks of files too short for any sample are made visible by
 *   the lock catcher (catcher.ts); the watcher releases a catcher as soon as it blocks the file.
 * - Waiting is not holding. An ungranted request of any lock type (a relation, another
 *   session's transaction or snapshot) is a wait, timed from `pg_locks.waitstart`, with the
 *   sessions `pg_blocking_pids` names and their queries; a request never granted (the file
 *   failed while waiting, e.g. lock_timeout) is reported with no hold. A request that queued
 *   only behind the lock catcher is the catcher's doing: it counts as held from the release.
 * - Files that name an index and no table (DROP INDEX, ALTER INDEX, REINDEX) get the index's
 *   table resolved on the server, so its catcher is armed too.
 * - Foreign keys without a supporting index are listed after each file, less those that
 *   lacked one before the head apply.
 * - Only relations with oid ≥ 16384 are kept: catalog locks are Postgres' own bookkeeping.
 * - Rewrites are relations whose relfilenode changed between before and after the file. A
 *   table whose new storage is empty was emptied (TRUNCATE), not rewritten row by row.
 * - WAL bytes are the server's `pg_current_wal_insert_lsn()` difference: on a shared server
 *   other sessions' writes are included.
 */
import pg from 'pg';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import { LockCatcher } from './catcher.ts';
import type { TableInfo } from './introspect.ts';
import { relationsNamedIn } from './lock-class.ts';
import { blocksReads, blocksWrites, strength } from './lock-modes.ts';
import type { FileEvidence, ForeignKeyGap, LockEvidence, WaitEvidence } from './types.ts';

const BURST_MS = 50;

const KINDS: Record<string, string> = {
  r: 'table',
  i: 'index',
  S: 'sequence',
  t: 'toast',
  m: 'materialized view',
  p: 'table',
  I: 'index',
  v: 'view',
};

interface Rel {
  oid: number;
  name: string;
  kind: string;
  filenode: number;
  table: string | null;
  bytes: number | null;
}

interface Wait {
  locktype: string;
  oid: number | null;
  target: string | null;
  mode: string;
  first: number;
  last: number;
  /** Longest wait seen from pg_locks.waitstart, ms (null before Postgres 14). */
  serverMs: number | null;
  /** Sample number of the last sample that showed it. */
  lastSample: number;
  blockers: Map<number, WaitEvidence['blockers'][number]>;
  /** Seen while a catcher held, or behind the smoke's own sessions: with no other blocker ever named, not the migration's wait. */
  whileCatching: boolean;
}

type Blocker = [number, string | null, string | null, string | null];

interface Seen {
  mode: string;
  first: number;
  last: number;
}

/** Relations of the database (oid ≥ 16384), with relfilenode and owning table for indexes and toast. */
async function relations(client: pg.Client): Promise<Map<number, Rel>> {
  const { rows } = await client.query<{
    oid: number;
    name: string;
    relkind: string;
    filenode: number;
    tbl: string | null;
    bytes: number | null;
  }>(
    `SELECT c.oid::int AS oid,
            CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END AS name,
            c.relkind::text AS relkind, c.relfilenode::int AS filenode,
            CASE WHEN c.relkind IN ('r', 'm') THEN pg_total_relation_size(c.oid)::float8 END AS bytes,
            coalesce((SELECT CASE WHEN tn.nspname = 'public' THEN tc.relname ELSE tn.nspname || '.' || tc.relname END
                        FROM pg_index x JOIN pg_class tc ON tc.oid = x.indrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                       WHERE x.indexrelid = c.oid),
                     (SELECT CASE WHEN tn.nspname = 'public' THEN tc.relname ELSE tn.nspname || '.' || tc.relname END
                        FROM pg_class tc JOIN pg_namespace tn ON tn.oid = tc.relnamespace WHERE tc.reltoastrelid = c.oid)) AS tbl
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid >= 16384 AND n.nspname <> 'shipgate_smoke' AND n.nspname NOT LIKE 'pg\\_temp%'`,
  );
  return new Map(
    rows.map((r) => [
      r.oid,
      {
        oid: r.oid,
        name: r.name,
        kind: KINDS[r.relkind] ?? r.relkind,
        filenode: r.filenode,
        table: r.tbl,
        bytes: r.bytes,
      },
    ]),
  );
}

// A foreign key is supported when an index's leading columns are exactly its columns (any order).
const FK_GAPS = `SELECT c.conname AS constraint,
       CASE WHEN n.nspname = 'public' THEN t.relname ELSE n.nspname || '.' || t.relname END AS table,
       CASE WHEN n.nspname = 'public' THEN quote_ident(t.relname) ELSE quote_ident(n.nspname) || '.' || quote_ident(t.relname) END AS qtable,
       t.relname AS relname,
       c.confrelid::regclass::text AS references,
       (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS columns
  FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE c.contype = 'f' AND c.conrelid >= 16384 AND n.nspname <> 'shipgate_smoke'
   AND NOT EXISTS (SELECT 1 FROM pg_index x
                    WHERE x.indrelid = c.conrelid AND x.indpred IS NULL AND x.indisvalid
                      AND (x.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                      AND (x.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)`;

async function foreignKeyGaps(client: pg.Client): Promise<ForeignKeyGap[]> {
  const { rows } = await client.query<{
    constraint: string;
    table: string;
    qtable: string;
    relname: string;
    references: string;
    columns: string[];
  }>(FK_GAPS);
  return rows.map((r) => {
    const q = (id: string) => `"${id.replace(/"/g, '""')}"`;
    // Prisma's own index name for @@index([cols]).
    const name = `${r.relname}_${r.columns.join('_')}_idx`.slice(0, 63);
    return {
      constraint: r.constraint,
      table: r.table,
      columns: r.columns,
      references: r.references,
      fix: `CREATE INDEX CONCURRENTLY ${q(name)} ON ${r.qtable} (${r.columns.map(q).join(', ')});`,
    };
  });
}

/** Samples locks of one backend (or of every other client backend on the database) while a file runs. */
export class LockWatcher {
  private readonly client: pg.Client;
  private readonly intervalMs: number;
  private before = new Map<number, Rel>();
  private walBefore: string | null = null;
  private granted = new Map<string, Seen>();
  private waiting = new Map<number, Seen>();
  private waits = new Map<string, Wait>();
  private fkBaseline: Set<string> | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private samples = 0;
  private started = 0;
  private lastSampleAt = 0;
  private pid: number | undefined;
  private readonly ownPids: number[] = [];
  private catcher: LockCatcher | undefined;
  private blockedSamples = 0;
  private readonly caught = new Set<number>();

  private readonly url: string;

  constructor(url: string, intervalMs: number) {
    this.url = url;
    this.client = new pg.Client({
      ...pgConnectOptions(),
      connectionString: url,
      application_name: 'shipgate:smoke-watcher',
    });
    this.client.on('error', () => {});
    this.intervalMs = intervalMs;
  }

  /** Connects; `ownPids` are backends of the smoke itself (probes), never counted as the migration. */
  async connect(): Promise<void> {
    await this.client.connect();
    const { rows } = await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    this.ownPids.push(rows[0]?.pid ?? 0);
  }

  /** Backends that are not the migration (the probes). */
  exclude(pids: number[]): void {
    this.ownPids.push(...pids);
  }

  /**
   * Records relations and the WAL position, then starts sampling `pid` (or every other backend
   * when undefined). With a pid, `catch` tables get a lock catcher (catcher.ts).
   */
  async begin(pid: number | undefined, catchTables: TableInfo[] = [], sql?: string): Promise<void> {
    this.pid = pid;
    this.caught.clear();
    this.blockedSamples = 0;
    if (!this.fkBaseline) {
      const gaps = await foreignKeyGaps(this.client).catch(() => []);
      this.fkBaseline = new Set(gaps.map((g) => `${g.table}:${g.constraint}`));
    }
    const arm: { oid: number; qname: string }[] = [...catchTables];
    if (pid !== undefined && sql) {
      for (const t of await this.tablesOf(relationsNamedIn(sql))) if (!arm.some((a) => a.oid === t.oid)) arm.push(t);
    }
    if (pid !== undefined && arm.length > 0) {
      this.catcher ??= new LockCatcher(this.url);
      this.exclude(await this.catcher.arm(arm));
    }
    this.before = await relations(this.client);
    this.walBefore = await this.client
      .query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')
      .then((r) => r.rows[0]?.lsn ?? null)
      .catch(() => null);
    this.granted.clear();
    this.waiting.clear();
    this.waits.clear();
    this.samples = 0;
    this.stopping = false;
    this.started = performance.now();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const others = this.pid === undefined;
    const filter = others ? `a.backend_type = 'client backend' AND NOT (l.pid = ANY($1::int[]))` : 'l.pid = $1::int';
    // pg_blocking_pids takes the lock manager's partition locks: only called while the backend waits.
    const blockers = others
      ? 'NULL::json'
      : `CASE WHEN EXISTS (SELECT 1 FROM pg_locks w WHERE w.pid = $1::int AND NOT w.granted) THEN
           (SELECT json_agg(json_build_array(b.pid, ba.application_name, ba.state, left(ba.query, 300)))
              FROM unnest(pg_blocking_pids($1::int)) b(pid) LEFT JOIN pg_stat_activity ba ON ba.pid = b.pid) END`;
    const waitMs = `(extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::float8`;
    const xwaits = others
      ? `'[]'::json`
      : `(SELECT coalesce(json_agg(json_build_array(l.locktype, coalesce(l.transactionid::text, l.virtualxid, l.relation::regclass::text),
                                                    l.mode, ${waitMs})), '[]')
            FROM pg_locks l WHERE l.pid = $1::int AND NOT l.granted AND l.locktype <> 'relation')`;
    const sql = `SELECT json_build_object(
        'locks', (SELECT coalesce(json_agg(json_build_array(l.relation::int, l.mode, l.granted, ${waitMs})), '[]')
                    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'relation' AND l.relation::int >= 16384
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND ${filter}),
        'xwaits', ${xwaits},
        'blockers', ${blockers}) AS s`;
    while (!this.stopping) {
      const t = performance.now() - this.started;
      try {
        const { rows } = await this.client.query<{
          s: {
            locks: [number, string, boolean, number | null][];
            xwaits: [string, string | null, string, number | null][];
            blockers: Blocker[] | null;
          };
        }>(sql, others ? [this.ownPids] : [this.pid]);
        const sample = rows[0]?.s;
        this.samples += 1;
        this.lastSampleAt = t;
        const catchers = new Set(this.catcher?.pids() ?? []);
        const blockerRows = sample?.blockers ?? [];
        const caught = blockerRows.map((b) => b[0]).filter((p) => catchers.has(p));
        // The smoke's own sessions (a catcher, this watcher's snapshot that CONCURRENTLY waits out) are not blockers.
        const ours = (b: Blocker) =>
          catchers.has(b[0]) || this.ownPids.includes(b[0]) || /^shipgate:smoke/.test(b[1] ?? '');
        const foreign = blockerRows.filter((b) => !ours(b));
        const ownOnly = blockerRows.length > 0 && foreign.length === 0;
        // Queued only behind a catcher: the catcher's doing. Behind anyone else too: a real wait.
        const onlyCatcher = caught.length > 0 && foreign.length === 0;
        let queuedRelation = false;
        const wait = (locktype: string, oid: number | null, target: string | null, mode: string, ms: number | null) => {
          const key = `${locktype}:${oid ?? target}:${mode}`;
          let w = this.waits.get(key);
          if (!w) {
            w = {
              locktype,
              oid,
              target,
              mode,
              first: t,
              last: t,
              serverMs: null,
              lastSample: 0,
              blockers: new Map(),
              whileCatching: false,
            };
            this.waits.set(key, w);
          }
          w.last = t;
          w.lastSample = this.samples;
          if (catchers.size > 0 || ownOnly) w.whileCatching = true;
          if (ms !== null) w.serverMs = Math.max(w.serverMs ?? 0, ms);
          for (const [pid, application, state, query] of foreign)
            w.blockers.set(pid, { pid, application: application ?? '', state, query });
        };
        for (const [oid, mode, granted, ms] of sample?.locks ?? []) {
          if (granted) {
            const key = `${oid}:${mode}`;
            const seen = this.granted.get(key);
            if (seen) seen.last = t;
            else this.granted.set(key, { mode, first: t, last: t });
          } else if (onlyCatcher) {
            // Queued behind a catcher: the mode it asked for is the evidence; it holds it from now on.
            const key = `${oid}:${mode}`;
            if (!this.granted.has(key)) this.granted.set(key, { mode, first: t, last: t });
            this.caught.add(oid);
            queuedRelation = true;
          } else {
            const seen = this.waiting.get(oid);
            if (seen) seen.last = t;
            else this.waiting.set(oid, { mode, first: t, last: t });
            wait('relation', oid, null, mode, ms);
          }
        }
        if (!onlyCatcher)
          for (const [locktype, target, mode, ms] of sample?.xwaits ?? []) wait(locktype, null, target, mode, ms);
        // pg_locks and pg_blocking_pids are two snapshots: a request can show in one and not yet in
        // the other. Release once the request itself was seen; a wait on something else (CONCURRENTLY
        // waiting for the catcher's transaction) is released on the second sample that shows it.
        if (caught.length > 0) {
          this.blockedSamples += 1;
          if (queuedRelation || foreign.length > 0 || this.blockedSamples >= 2) {
            this.blockedSamples = 0;
            for (const pid of caught) await this.catcher?.release(pid);
          }
        }
      } catch {
        // the watcher must never fail the smoke; a lost sample widens the resolution only
      }
      const wait = t < BURST_MS ? 0 : this.intervalMs - (performance.now() - this.started - t);
      await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
    }
  }

  /**
   * Stops sampling and returns what the file did; `rows` are the snapshot's row counts by table
   * name, `sqlstate` the file's error (a lock_timeout, cancel or deadlock ends its last wait ungranted).
   */
  async end(
    migration: string,
    durationMs: number,
    rows: Map<string, number>,
    sqlstate?: string,
  ): Promise<FileEvidence> {
    const endAt = performance.now() - this.started;
    this.stopping = true;
    await this.loop;
    await this.catcher?.releaseAll();
    const after = await relations(this.client);
    const walAfter = await this.client
      .query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint AS bytes', [
        this.walBefore,
      ])
      .then((r) => Number(r.rows[0]?.bytes))
      .catch(() => null);
    const nameOf = (oid: number) => this.before.get(oid) ?? after.get(oid);
    const waits = this.waitEvidence(sqlstate, nameOf);
    const gaps = await foreignKeyGaps(this.client).catch(() => []);
    const strongest = new Map<number, Seen>();
    for (const [key, s] of this.granted) {
      const oid = Number(key.split(':')[0]);
      const cur = strongest.get(oid);
      if (!cur || strength(s.mode) > strength(cur.mode)) strongest.set(oid, s);
    }
    const locks: LockEvidence[] = [];
    for (const [oid, s] of strongest) {
      const rel = nameOf(oid);
      if (!rel || rel.name === '_prisma_migrations' || rel.table === '_prisma_migrations') continue;
      // Held until the file's commit (see the file comment).
      const last = endAt;
      // A wait the catcher caused is the catcher's, not the migration's.
      const waited = this.caught.has(oid) ? undefined : this.waitedOn(oid);
      const lock: LockEvidence = {
        relation: rel.name,
        kind: rel.kind,
        mode: s.mode,
        // A lock lives no longer than the file's transaction, whose own duration bounds it.
        holdMs: round(Math.min(Math.max(0, last - s.first), durationMs)),
        waitedMs: waited ?? 0,
        existed: this.before.has(oid),
        blocksWrites: blocksWrites(s.mode),
        blocksReads: blocksReads(s.mode),
      };
      if (this.caught.has(oid)) lock.caught = true;
      const n = rows.get(rel.kind === 'table' ? rel.name : (rel.table ?? ''));
      if (n !== undefined && rel.kind === 'table') lock.rows = n;
      const bytes = this.before.get(oid)?.bytes;
      if (bytes != null && rel.kind === 'table') lock.bytes = bytes;
      locks.push(lock);
    }
    for (const [oid, w] of this.waiting) {
      if (strongest.has(oid) || this.caught.has(oid)) continue;
      const rel = nameOf(oid);
      if (!rel) continue;
      const lock: LockEvidence = {
        relation: rel.name,
        kind: rel.kind,
        mode: w.mode,
        holdMs: 0,
        waitedMs: this.waitedOn(oid) ?? 0,
        existed: this.before.has(oid),
        blocksWrites: blocksWrites(w.mode),
        blocksReads: blocksReads(w.mode),
      };
      // Still queued at the last sample of a file that failed: never granted, never held.
      if (waits.some((x) => x.oid === oid && !x.granted)) lock.granted = false;
      const n = rows.get(rel.kind === 'table' ? rel.name : (rel.table ?? ''));
      if (n !== undefined && rel.kind === 'table') lock.rows = n;
      locks.push(lock);
    }
    locks.sort((a, b) => strength(b.mode) - strength(a.mode) || b.holdMs - a.holdMs);
    const rewritten: FileEvidence['rewritten'] = [];
    const created: FileEvidence['created'] = [];
    const dropped: FileEvidence['dropped'] = [];
    for (const [oid, rel] of after) {
      const was = this.before.get(oid);
      if (rel.name.startsWith('pg_toast.')) continue;
      if (!was) {
        if (rel.kind !== 'toast') {
          created.push(
            rel.table
              ? { relation: rel.name, kind: rel.kind, table: rel.table }
              : { relation: rel.name, kind: rel.kind },
          );
        }
      } else if (was.filenode !== 0 && rel.filenode !== was.filenode && rel.kind !== 'sequence') {
        const owner = rel.kind === 'table' ? rel.name : rel.table;
        const entry: FileEvidence['rewritten'][number] = { relation: rel.name, kind: rel.kind };
        if (rel.table) entry.table = rel.table;
        const n = owner ? rows.get(owner) : undefined;
        if (n !== undefined) entry.rows = n;
        rewritten.push(entry);
      }
    }
    for (const [oid, rel] of this.before)
      if (!after.has(oid) && !rel.name.startsWith('pg_toast.')) dropped.push({ relation: rel.name, kind: rel.kind });
    // ALTER … TYPE drops and re-creates the indexes on the column under their old names (new oids):
    // with the table rewritten they were rebuilt; with their storage reused (a binary-compatible
    // change) nothing was built. A DROP + CREATE INDEX of its own is left as created: a build.
    const gone = [...this.before].filter(([oid]) => !after.has(oid)).map(([, rel]) => rel);
    const rewrittenTables = new Set(rewritten.filter((r) => r.kind === 'table').map((r) => r.relation));
    for (const [oid, rel] of after) {
      const old = gone.find((g) => g.kind === 'index' && g.name === rel.name && g.table === rel.table);
      if (this.before.has(oid) || rel.kind !== 'index' || !rel.table || !old) continue;
      const reused = old.filenode === rel.filenode;
      if (!reused && !rewrittenTables.has(rel.table)) continue;
      const c = created.findIndex((x) => x.relation === rel.name && x.kind === 'index');
      if (c >= 0) created.splice(c, 1);
      const d = dropped.findIndex((x) => x.relation === rel.name && x.kind === 'index');
      if (d >= 0) dropped.splice(d, 1);
      if (reused) continue;
      const n = rows.get(rel.table);
      rewritten.push({ relation: rel.name, kind: 'index', table: rel.table, ...(n !== undefined ? { rows: n } : {}) });
    }
    await this.markEmptied(rewritten, after);
    return {
      migration,
      durationMs: round(durationMs),
      walBytes: walAfter,
      locks,
      rewritten: rewritten.filter((r) => r.kind !== 'toast'),
      created,
      dropped,
      samples: this.samples,
      sampleIntervalMs: round(this.samples > 1 ? this.lastSampleAt / (this.samples - 1) : this.intervalMs),
      ...(waits.length ? { waits: waits.map(({ oid: _, ...w }) => w) } : {}),
      ...(gaps.some((g) => !this.fkBaseline?.has(`${g.table}:${g.constraint}`))
        ? { unindexedForeignKeys: gaps.filter((g) => !this.fkBaseline?.has(`${g.table}:${g.constraint}`)) }
        : {}),
    };
  }

  /** How long one wait lasted, ms: the longest the server's waitstart showed, else the samples (accurate to one interval). */
  private waitMs(w: Wait): number {
    return round(w.serverMs ?? w.last - w.first + this.intervalMs);
  }

  /** The longest wait on relation `oid`, ms, or undefined. */
  private waitedOn(oid: number): number | undefined {
    const ms = [...this.waits.values()].filter((w) => w.oid === oid).map((w) => this.waitMs(w));
    return ms.length ? Math.max(...ms) : undefined;
  }

  private waitEvidence(
    sqlstate: string | undefined,
    nameOf: (oid: number) => Rel | undefined,
  ): (WaitEvidence & { oid: number | null })[] {
    const out: (WaitEvidence & { oid: number | null })[] = [];
    // lock_timeout, a cancel (statement_timeout) or a deadlock ends the file in its last wait, ungranted.
    const abortedWaiting = sqlstate === '55P03' || sqlstate === '57014' || sqlstate === '40P01';
    const lastWait = [...this.waits.values()].reduce<Wait | undefined>(
      (a, w) => (!a || w.last > a.last ? w : a),
      undefined,
    );
    const seenGranted = (w: Wait) =>
      w.oid !== null &&
      [...this.granted.keys()].some(
        (k) => k.startsWith(`${w.oid}:`) && strength(k.slice(k.indexOf(':') + 1)) >= strength(w.mode),
      );
    for (const w of this.waits.values()) {
      if ((w.oid !== null && this.caught.has(w.oid)) || (w.whileCatching && w.blockers.size === 0)) continue;
      const rel = w.oid !== null ? nameOf(w.oid) : undefined;
      if (rel && (rel.name === '_prisma_migrations' || rel.table === '_prisma_migrations')) continue;
      out.push({
        oid: w.oid,
        locktype: w.locktype,
        relation: rel?.name ?? (w.locktype === 'relation' ? w.target : null),
        mode: w.mode,
        waitedMs: this.waitMs(w),
        granted: !(abortedWaiting && w === lastWait && !seenGranted(w)),
        blockers: [...w.blockers.values()],
      });
    }
    return out;
  }

  /** Tables of the named relations (an index resolves to its table), as they exist now. */
  private async tablesOf(names: string[]): Promise<{ oid: number; qname: string }[]> {
    if (names.length === 0) return [];
    const { rows } = await this.client
      .query<{ oid: number; qname: string }>(
        `SELECT DISTINCT t.oid::int AS oid, format('%I.%I', n.nspname, t.relname) AS qname
           FROM unnest($1::text[]) AS x(name)
           JOIN pg_class c ON c.oid = to_regclass(x.name)
           LEFT JOIN pg_index i ON i.indexrelid = c.oid
           JOIN pg_class t ON t.oid = coalesce(i.indrelid, c.oid)
           JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE t.relkind IN ('r', 'p', 'm') AND t.oid >= 16384 AND t.relname <> '_prisma_migrations'`,
        [names],
      )
      .catch(() => ({ rows: [] as { oid: number; qname: string }[] }));
    return rows;
  }

  /** Marks rewritten tables whose new storage holds no page: emptied (TRUNCATE), not rewritten. */
  private async markEmptied(rewritten: FileEvidence['rewritten'], after: Map<number, Rel>): Promise<void> {
    const oids = [...after.values()]
      .filter((r) => r.kind === 'table' && rewritten.some((w) => w.kind === 'table' && w.relation === r.name))
      .map((r) => r.oid);
    if (oids.length === 0) return;
    const empty = await this.client
      .query<{ oid: number }>(
        'SELECT oid::int AS oid FROM pg_class WHERE oid = ANY($1) AND pg_relation_size(oid) = 0',
        [oids],
      )
      .then((r) => new Set(r.rows.map((x) => after.get(x.oid)?.name)))
      .catch(() => new Set<string | undefined>());
    for (const w of rewritten) if (w.kind === 'table' && empty.has(w.relation)) w.emptied = true;
  }

  /** Longest wait for a lock seen so far, ms (for a file that failed). */
  lockWaitMs(): number {
    const own = [...this.waits.values()]
      .filter((w) => w.oid === null || !this.caught.has(w.oid))
      .map((w) => this.waitMs(w));
    return round(Math.max(0, ...own));
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.loop?.catch(() => {});
    await this.catcher?.close();
    await this.client.end().catch(() => {});
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
