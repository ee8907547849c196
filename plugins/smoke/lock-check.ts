/**
 * The locks check, from what the watcher measured per file. On a table that existed and held
 * rows before the head apply:
 * - a rewrite (new relfilenode) under a write-blocking lock is UNSAFE: its time grows with the table;
 * - an index built under a write-blocking lock (CREATE INDEX without CONCURRENTLY) is UNSAFE, for the same reason;
 * - any write-blocking lock held longer than `lockBudgetMs` is UNSAFE;
 * - waiting for a lock (held by probes or other sessions) is WARN.
 * Locks on relations the migration itself created block nobody and are not judged.
 */
import type { FileEvidence, Finding, LockEvidence } from './types.ts';

const fmt = (ms: number) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;

/** Judges every file's locks and rewrites. */
export function checkLocks(
  files: FileEvidence[],
  lockBudgetMs: number,
): { findings: Finding[]; evidence: Record<string, unknown> } {
  const findings: Finding[] = [];
  for (const file of files) {
    const tableLock = new Map<string, LockEvidence>();
    for (const l of file.locks) if (l.kind === 'table') tableLock.set(l.relation, l);
    const judged = new Set<string>();
    const nonEmpty = (table: string) =>
      (tableLock.get(table)?.rows ?? 0) > 0 ||
      file.rewritten.some((r) => (r.table ?? r.relation) === table && (r.rows ?? 0) > 0);
    const lockText = (l: LockEvidence | undefined) =>
      l ? `${l.mode} held ${fmt(l.holdMs)}` : 'a lock the watcher did not catch';

    const rewrittenTables = new Map<string, FileEvidence['rewritten']>();
    for (const r of file.rewritten) {
      const table = r.kind === 'table' ? r.relation : (r.table ?? r.relation);
      rewrittenTables.set(table, [...(rewrittenTables.get(table) ?? []), r]);
    }
    for (const [table, rels] of rewrittenTables) {
      const rows = rels.find((r) => r.rows !== undefined)?.rows ?? tableLock.get(table)?.rows ?? 0;
      if (rows === 0) continue;
      const tableItself = rels.some((r) => r.kind === 'table' || r.kind === 'materialized view');
      // Every rewrite path (ALTER TABLE … TYPE, SET ACCESS METHOD, VACUUM FULL, CLUSTER, TRUNCATE) takes ACCESS EXCLUSIVE;
      // when no sample caught it, it was held for (at most) the whole file.
      const lock: LockEvidence = tableLock.get(table) ?? {
        relation: table,
        kind: 'table',
        mode: tableItself ? 'AccessExclusiveLock' : 'ShareLock',
        holdMs: file.durationMs,
        waitedMs: 0,
        existed: true,
        rows,
        blocksWrites: true,
        blocksReads: tableItself,
        inferred: true,
      };
      judged.add(table);
      findings.push({
        code: tableItself ? 'locks/table-rewrite' : 'locks/index-rebuild',
        verdict: 'UNSAFE',
        migration: file.migration,
        target: table,
        message: `${tableItself ? 'Table' : 'Indexes of table'} "${table}" (${rows} rows) ${tableItself ? 'was rewritten' : 'were rebuilt'} (${rels.map((r) => r.relation).join(', ')}) under ${lockText(lock)}${lock.inferred ? ' (inferred: no sample caught it)' : ''}: the time grows with the table, and ${lock.blocksReads ? 'reads and writes wait' : 'writes wait'} meanwhile.`,
        evidence: {
          rows,
          rewritten: rels.map((r) => r.relation),
          lockMode: lock.mode,
          holdMs: lock.holdMs,
          lockInferred: !!lock.inferred,
          walBytes: file.walBytes,
        },
      });
    }
    for (const idx of file.created.filter((c) => c.kind === 'index' && c.table)) {
      const table = idx.table as string;
      const lock = tableLock.get(table);
      if (judged.has(table) || !lock?.existed || !lock.blocksWrites || !nonEmpty(table)) continue;
      judged.add(table);
      findings.push({
        code: 'locks/blocking-index-build',
        verdict: 'UNSAFE',
        migration: file.migration,
        target: table,
        message: `Index "${idx.relation}" was built on "${table}" (${lock.rows ?? '?'} rows) under ${lockText(lock)}: writes wait for the whole build; use CREATE INDEX CONCURRENTLY, alone in its migration file.`,
        evidence: { index: idx.relation, rows: lock.rows, lockMode: lock.mode, holdMs: lock.holdMs },
      });
    }
    for (const l of file.locks) {
      if (l.kind !== 'table' || !l.existed || !l.blocksWrites || judged.has(l.relation) || !nonEmpty(l.relation))
        continue;
      if (l.holdMs <= lockBudgetMs) continue;
      findings.push({
        code: 'locks/long-blocking-lock',
        verdict: 'UNSAFE',
        migration: file.migration,
        target: l.relation,
        message: `"${l.relation}" (${l.rows ?? '?'} rows) was locked ${lockText(l)}, over the ${lockBudgetMs} ms budget (lockBudgetMs): ${l.blocksReads ? 'reads and writes' : 'writes'} wait that long.`,
        evidence: { lockMode: l.mode, holdMs: l.holdMs, rows: l.rows, budgetMs: lockBudgetMs },
      });
    }
    const waited = file.locks.filter((l) => l.waitedMs > 0);
    if (waited.length > 0) {
      findings.push({
        code: 'locks/lock-wait',
        verdict: 'WARN',
        migration: file.migration,
        target: waited.map((w) => w.relation).join(', '),
        message: `The migration waited ${fmt(Math.max(...waited.map((w) => w.waitedMs)))} for ${waited.map((w) => `${w.mode} on "${w.relation}"`).join(', ')} held by other sessions; in production lock_timeout bounds this wait.`,
        evidence: { waits: waited.map((w) => ({ relation: w.relation, mode: w.mode, waitedMs: w.waitedMs })) },
      });
    }
  }
  const strongest = files.flatMap((f) =>
    f.locks
      .filter((l) => l.existed && l.kind === 'table')
      .map((l) => ({ migration: f.migration, relation: l.relation, mode: l.mode, holdMs: l.holdMs, rows: l.rows })),
  );
  return {
    findings,
    evidence: {
      lockBudgetMs,
      maxBlockingHoldMs: Math.max(
        0,
        ...files.flatMap((f) => f.locks.filter((l) => l.existed && l.blocksWrites).map((l) => l.holdMs)),
      ),
      rewritten: files.flatMap((f) => f.rewritten.map((r) => `${f.migration}: ${r.relation}`)),
      locks: strongest,
    },
  };
}
