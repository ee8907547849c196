/**
 * The transient failure: a migration cancelled by `lock_timeout` (SQLSTATE 55P03) because
 * another session held a lock it needed. A clean abort is WARN, "retry needed"; one that left
 * debris behind (an INVALID index from CREATE INDEX CONCURRENTLY, a relation a non-transactional
 * statement created) is FAIL. Either way the finding names the blocker and the
 * `_prisma_migrations` row the operator resolves.
 *
 * Who blocked: while a file runs, `BlockerWatch` polls `pg_blocking_pids` of the migrating
 * backend, but only while that backend waits on a lock (the function takes the lock manager's
 * partition locks, so it is not called on every poll). The smoke's own sessions (watcher,
 * lock catcher, probes: application_name `shipgate:smoke…`) are never blockers. When no poll
 * saw the wait (a lock_timeout shorter than the poll interval, or `prisma migrate deploy` with
 * no backend pid), the sessions that hold conflicting locks on the file's tables at abort time
 * are named instead.
 */
import pg from 'pg';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import type { ApplyFailure } from './apply.ts';
import type { TableInfo } from './introspect.ts';
import { conflictingModes, MODES } from './lock-modes.ts';
import type { BlockerEvidence, CheckResult, FileEvidence, Finding, LockTimeoutEvidence } from './types.ts';

/** SQLSTATE lock_not_available: lock_timeout, or NOWAIT. */
export const LOCK_TIMEOUT_SQLSTATE = '55P03';

const POLL_MS = 20;

const ACTIVITY = `a.pid, a.application_name AS app, a.usename AS "user", a.state, left(a.query, 300) AS query,
       round((extract(epoch FROM now() - a.xact_start) * 1000)::numeric)::float8 AS xact_ms,
       coalesce((SELECT json_agg(json_build_object('relation', l.relation::regclass::text, 'mode', l.mode))
                   FROM pg_locks l
                  WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation' AND l.relation::int >= 16384
                    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())), '[]') AS locks`;
const NOT_OURS = `a.application_name NOT LIKE 'shipgate:smoke%' AND a.pid <> pg_backend_pid()`;

interface ActivityRow {
  pid: number;
  app: string;
  user: string | null;
  state: string | null;
  query: string | null;
  xact_ms: number | null;
  locks: { relation: string; mode: string }[];
}

const blocker = (r: ActivityRow): BlockerEvidence => ({
  pid: r.pid,
  application: r.app,
  user: r.user,
  state: r.state,
  query: r.query,
  xactMs: r.xact_ms,
  locks: r.locks,
});

/** Polls who blocks the migrating backend while a file runs, and inspects a lock_timeout abort. */
export class BlockerWatch {
  private readonly client: pg.Client;
  private invalidBefore = new Set<string>();
  private seen = new Map<number, BlockerEvidence>();
  private waitingFor: LockTimeoutEvidence['waitingFor'] = null;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** This connection's backend pid (to exclude from the watcher). */
  pid = 0;

  constructor(url: string) {
    this.client = new pg.Client({
      ...pgConnectOptions(),
      connectionString: url,
      application_name: 'shipgate:smoke-blockers',
    });
    this.client.on('error', () => {});
  }

  /** Connects and records the INVALID indexes that exist before the head apply (they are not its debris). */
  async connect(): Promise<void> {
    await this.client.connect();
    this.pid = (await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
    this.invalidBefore = new Set((await this.invalidIndexes()).map((i) => i.relation));
  }

  /** Starts polling `pid`. */
  begin(pid: number): void {
    this.seen = new Map();
    this.waitingFor = null;
    this.stopping = false;
    this.loop = this.run(pid);
  }

  private async run(pid: number): Promise<void> {
    const sql = `WITH me AS (SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1),
                      b AS (SELECT unnest(pg_blocking_pids($1)) AS pid FROM me WHERE me.waiting)
                 SELECT ${ACTIVITY},
                        (SELECT json_build_object('locktype', l.locktype, 'relation', l.relation::regclass::text, 'mode', l.mode)
                           FROM pg_locks l WHERE l.pid = $1 AND NOT l.granted LIMIT 1) AS waiting_for
                   FROM b JOIN pg_stat_activity a ON a.pid = b.pid
                  WHERE ${NOT_OURS}`;
    while (!this.stopping) {
      try {
        const { rows } = await this.client.query<ActivityRow & { waiting_for: LockTimeoutEvidence['waitingFor'] }>(
          sql,
          [pid],
        );
        for (const r of rows) {
          this.seen.set(r.pid, blocker(r));
          if (r.waiting_for) this.waitingFor = r.waiting_for;
        }
      } catch {
        // a lost poll only makes the blocker unknown; it must never fail the smoke
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Stops polling. */
  async end(): Promise<void> {
    this.stopping = true;
    await this.loop?.catch(() => {});
    this.loop = undefined;
  }

  /**
   * After a lock_timeout abort of `migration`: the blockers (as polled, refreshed now; else the
   * sessions holding locks on `tables` that conflict with the awaited mode), the failed
   * `_prisma_migrations` row, and the debris: INVALID indexes that were not there before the
   * head apply, and other relations the file created (`created`).
   */
  async inspect(migration: string | undefined, tables: TableInfo[], created: FileEvidence['created']) {
    let blockers = [...this.seen.values()];
    if (blockers.length > 0) {
      const now = await this.client
        .query<ActivityRow>(`SELECT ${ACTIVITY} FROM pg_stat_activity a WHERE a.pid = ANY($1::int[])`, [
          blockers.map((b) => b.pid),
        ])
        .catch(() => ({ rows: [] as ActivityRow[] }));
      // Still there: the state and locks now (at abort time); gone: as last seen.
      blockers = blockers.map((b) => {
        const r = now.rows.find((x) => x.pid === b.pid);
        return r ? { ...blocker(r), query: r.query ?? b.query } : b;
      });
    } else if (tables.length > 0) {
      const modes = this.waitingFor ? conflictingModes(this.waitingFor.mode) : MODES;
      const { rows } = await this.client.query<ActivityRow>(
        `SELECT ${ACTIVITY} FROM pg_stat_activity a
          WHERE ${NOT_OURS} AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted
                  AND l.locktype = 'relation' AND l.relation::int = ANY($1::int[]) AND l.mode = ANY($2::text[]))`,
        [tables.map((t) => t.oid), modes],
      );
      blockers = rows.map(blocker);
    }
    const row = migration
      ? await this.client
          .query<{ started: string; logs: string | null }>(
            `SELECT started_at::text AS started, logs FROM _prisma_migrations
              WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL
              ORDER BY started_at DESC LIMIT 1`,
            [migration],
          )
          .then((r) => r.rows[0])
          .catch(() => undefined)
      : undefined;
    const debris: LockTimeoutEvidence['debris'] = (await this.invalidIndexes())
      .filter((i) => !this.invalidBefore.has(i.relation))
      .map((i) => ({
        relation: i.relation,
        kind: 'index',
        invalid: true,
        fix: `DROP INDEX CONCURRENTLY IF EXISTS ${i.qname};`,
      }));
    for (const c of created) {
      if (debris.some((d) => d.relation === c.relation)) continue;
      const qname = c.relation
        .split('.')
        .map((p) => `"${p.replace(/"/g, '""')}"`)
        .join('.');
      const fix =
        c.kind === 'index'
          ? `DROP INDEX CONCURRENTLY IF EXISTS ${qname};`
          : `DROP ${c.kind.toUpperCase()} IF EXISTS ${qname};`;
      debris.push({ relation: c.relation, kind: c.kind, invalid: false, fix });
    }
    const evidence: LockTimeoutEvidence = {
      waitingFor: this.waitingFor,
      blockers,
      prismaRow: row && migration ? { migration, startedAt: row.started, logs: row.logs } : null,
      debris,
    };
    return evidence;
  }

  private async invalidIndexes(): Promise<{ relation: string; qname: string }[]> {
    const { rows } = await this.client.query<{ relation: string; qname: string }>(
      `SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END AS relation,
              format('%I.%I', n.nspname, c.relname) AS qname
         FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT x.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
    );
    return rows;
  }

  async close(): Promise<void> {
    await this.end();
    await this.client.end().catch(() => {});
  }
}

const describeBlocker = (b: BlockerEvidence) =>
  `pid ${b.pid} (application "${b.application || '?'}"${b.user ? `, user "${b.user}"` : ''}${b.state ? `, ${b.state}` : ''}${b.xactMs !== null ? `, transaction open ${Math.round(b.xactMs)} ms` : ''}${b.query ? `, query "${b.query.replace(/\s+/g, ' ').trim()}"` : ''})`;

/** The apply finding of a lock_timeout abort: WARN "retry needed" when clean, FAIL with the fix when it left debris. */
export function lockTimeoutFinding(failure: ApplyFailure, evidence: LockTimeoutEvidence, lockTimeout: string): Finding {
  const name = failure.migration ?? '?';
  const waited = evidence.waitingFor
    ? ` waiting for ${evidence.waitingFor.mode} on ${evidence.waitingFor.relation ? `"${evidence.waitingFor.relation}"` : `a ${evidence.waitingFor.locktype} (CONCURRENTLY waits for transactions that hold locks on the table)`}`
    : '';
  const by = evidence.blockers.length
    ? `Blocked by ${evidence.blockers.map(describeBlocker).join('; ')}.`
    : 'No blocking session was seen (it had gone by the abort).';
  const resolve = evidence.prismaRow ? `prisma migrate resolve --rolled-back ${name}` : undefined;
  const retry = resolve
    ? `run \`${resolve}\` (Prisma left a failed row in _prisma_migrations), then \`prisma migrate deploy\` again once the blocker is gone`
    : 'run `prisma migrate deploy` again once the blocker is gone';
  const debris = evidence.debris;
  const message = debris.length
    ? `Migration "${name}" hit lock_timeout ${lockTimeout}${waited} and left debris behind: ${debris.map((d) => `${d.invalid ? 'INVALID ' : ''}${d.kind} "${d.relation}"`).join(', ')}. ${by} Fix: ${debris.map((d) => `\`${d.fix}\``).join(', ')}, then ${retry}.`
    : `Migration "${name}" hit lock_timeout ${lockTimeout}${waited} and rolled back cleanly: retry needed. ${by} To retry: ${retry}.`;
  return {
    code: debris.length ? 'apply/lock-timeout-debris' : 'apply/lock-timeout',
    verdict: debris.length ? 'FAIL' : 'WARN',
    ...(failure.migration ? { migration: failure.migration, target: failure.migration } : {}),
    message,
    evidence: {
      ...failure,
      setting: `lock_timeout=${lockTimeout}`,
      ...(resolve ? { resolve } : {}),
      fixes: debris.map((d) => d.fix),
    },
  };
}

/**
 * Puts the lock_timeout finding in place of `apply/failed`; after a clean abort, the failed
 * `_prisma_migrations` row and the migrations the apply did not reach are what a retry
 * resolves, so the recorded check reports them as WARN (`recorded/retry-needed`, `/pending`).
 */
export function reconcileLockTimeout(checks: CheckResult[], failure: ApplyFailure, lockTimeout: string): void {
  const evidence = failure.lockTimeout;
  if (!evidence) return;
  const finding = lockTimeoutFinding(failure, evidence, lockTimeout);
  const apply = checks.find((c) => c.id === 'apply');
  if (apply) apply.findings = apply.findings.map((f) => (f.code === 'apply/failed' ? finding : f));
  if (finding.verdict !== 'WARN') return;
  const name = failure.migration;
  for (const f of checks.find((c) => c.id === 'recorded')?.findings ?? []) {
    if (f.code === 'recorded/failed-row' && f.migration === name) {
      f.code = 'recorded/retry-needed';
      f.verdict = 'WARN';
      f.message = `_prisma_migrations has a failed row for "${name}" from a clean lock_timeout abort: \`prisma migrate resolve --rolled-back ${name}\` clears it, and the next \`migrate deploy\` retries the file.`;
    } else if (f.code === 'recorded/missing') {
      f.code = 'recorded/pending';
      f.verdict = 'WARN';
      f.message = `Migration "${f.migration}" was not applied: the apply stopped at the lock_timeout of "${name}"; the retry applies it.`;
    }
  }
}
