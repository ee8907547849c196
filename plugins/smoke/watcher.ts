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
 * - Waiting (an ungranted request) is timed the same way, per relation.
 * - Only relations with oid ≥ 16384 are kept: catalog locks are Postgres' own bookkeeping.
 * - Rewrites are relations whose relfilenode changed between before and after the file.
 * - WAL bytes are the server's `pg_current_wal_insert_lsn()` difference: on a shared server
 *   other sessions' writes are included.
 */
import pg from 'pg';
import { LockCatcher } from './catcher.ts';
import type { TableInfo } from './introspect.ts';
import type { FileEvidence, LockEvidence } from './types.ts';

const MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];
const strength = (mode: string) => MODES.indexOf(mode);
/** Modes that conflict with RowExclusiveLock (INSERT/UPDATE/DELETE). */
export const blocksWrites = (mode: string) => strength(mode) >= strength('ShareLock');
/** Only ACCESS EXCLUSIVE conflicts with plain SELECT. */
export const blocksReads = (mode: string) => mode === 'AccessExclusiveLock';

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
}

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
  }>(
    `SELECT c.oid::int AS oid,
            CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END AS name,
            c.relkind::text AS relkind, c.relfilenode::int AS filenode,
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
      { oid: r.oid, name: r.name, kind: KINDS[r.relkind] ?? r.relkind, filenode: r.filenode, table: r.tbl },
    ]),
  );
}

/** Samples locks of one backend (or of every other client backend on the database) while a file runs. */
export class LockWatcher {
  private readonly client: pg.Client;
  private readonly intervalMs: number;
  private before = new Map<number, Rel>();
  private walBefore: string | null = null;
  private granted = new Map<string, Seen>();
  private waiting = new Map<number, Seen>();
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
    this.client = new pg.Client({ connectionString: url, application_name: 'shipgate:smoke-watcher' });
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
  async begin(pid: number | undefined, catchTables: TableInfo[] = []): Promise<void> {
    this.pid = pid;
    this.caught.clear();
    this.blockedSamples = 0;
    if (pid !== undefined && catchTables.length > 0) {
      this.catcher ??= new LockCatcher(this.url);
      this.exclude(await this.catcher.arm(catchTables));
    }
    this.before = await relations(this.client);
    this.walBefore = await this.client
      .query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')
      .then((r) => r.rows[0]?.lsn ?? null)
      .catch(() => null);
    this.granted.clear();
    this.waiting.clear();
    this.samples = 0;
    this.stopping = false;
    this.started = performance.now();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const others = this.pid === undefined;
    const filter = others ? `a.backend_type = 'client backend' AND NOT (l.pid = ANY($1::int[]))` : 'l.pid = $1::int';
    const blockers = others ? 'NULL::int[]' : 'CASE WHEN $2::boolean THEN pg_blocking_pids($1::int) END';
    const sql = `SELECT json_build_object(
        'locks', (SELECT coalesce(json_agg(json_build_array(l.relation::int, l.mode, l.granted)), '[]')
                    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'relation' AND l.relation::int >= 16384
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND ${filter}),
        'blockers', ${blockers}) AS s`;
    while (!this.stopping) {
      const t = performance.now() - this.started;
      try {
        const catching = this.pid !== undefined && (this.catcher?.pids().length ?? 0) > 0;
        const { rows } = await this.client.query<{
          s: { locks: [number, string, boolean][]; blockers: number[] | null };
        }>(sql, others ? [this.ownPids] : [this.pid, catching]);
        const sample = rows[0]?.s;
        this.samples += 1;
        this.lastSampleAt = t;
        const blockers = new Set(sample?.blockers ?? []);
        const caught = this.catcher ? this.catcher.pids().filter((p) => blockers.has(p)) : [];
        let queuedRelation = false;
        for (const [oid, mode, granted] of sample?.locks ?? []) {
          if (granted) {
            const key = `${oid}:${mode}`;
            const seen = this.granted.get(key);
            if (seen) seen.last = t;
            else this.granted.set(key, { mode, first: t, last: t });
          } else if (caught.length > 0) {
            // Queued behind a catcher: the mode it asked for is the evidence; it holds it from now on.
            const key = `${oid}:${mode}`;
            if (!this.granted.has(key)) this.granted.set(key, { mode, first: t, last: t });
            this.caught.add(oid);
            queuedRelation = true;
          } else {
            const seen = this.waiting.get(oid);
            if (seen) seen.last = t;
            else this.waiting.set(oid, { mode, first: t, last: t });
          }
        }
        // pg_locks and pg_blocking_pids are two snapshots: a request can show in one and not yet in
        // the other. Release once the request itself was seen; a wait on something else (CONCURRENTLY
        // waiting for the catcher's transaction) is released on the second sample that shows it.
        if (caught.length > 0) {
          this.blockedSamples += 1;
          if (queuedRelation || this.blockedSamples >= 2) {
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

  /** Stops sampling and returns what the file did; `rows` are the snapshot's row counts by table name. */
  async end(migration: string, durationMs: number, rows: Map<string, number>): Promise<FileEvidence> {
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
      const waited = this.caught.has(oid) ? undefined : this.waiting.get(oid);
      const lock: LockEvidence = {
        relation: rel.name,
        kind: rel.kind,
        mode: s.mode,
        // A lock lives no longer than the file's transaction, whose own duration bounds it.
        holdMs: round(Math.min(Math.max(0, last - s.first), durationMs)),
        waitedMs: waited ? round(waited.last - waited.first + this.intervalMs) : 0,
        existed: this.before.has(oid),
        blocksWrites: blocksWrites(s.mode),
        blocksReads: blocksReads(s.mode),
      };
      if (this.caught.has(oid)) lock.caught = true;
      const n = rows.get(rel.kind === 'table' ? rel.name : (rel.table ?? ''));
      if (n !== undefined && rel.kind === 'table') lock.rows = n;
      locks.push(lock);
    }
    for (const [oid, w] of this.waiting) {
      if (strongest.has(oid) || this.caught.has(oid)) continue;
      const rel = nameOf(oid);
      if (!rel) continue;
      locks.push({
        relation: rel.name,
        kind: rel.kind,
        mode: w.mode,
        holdMs: 0,
        waitedMs: round(w.last - w.first + this.intervalMs),
        existed: this.before.has(oid),
        blocksWrites: blocksWrites(w.mode),
        blocksReads: blocksReads(w.mode),
      });
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
    };
  }

  /** Longest wait for a lock seen so far, ms (for a file that failed). */
  lockWaitMs(): number {
    const own = [...this.waiting]
      .filter(([oid]) => !this.caught.has(oid))
      .map(([, w]) => w.last - w.first + this.intervalMs);
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
