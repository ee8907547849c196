/**
 * The locks check, from what the watcher measured per file. Each write-blocking lock (SHARE and
 * stronger: it conflicts with the ROW EXCLUSIVE of INSERT/UPDATE/DELETE) on a table that existed
 * and held rows before the head apply is judged by what the statement does under it
 * (lock-class.ts):
 * - metadata-only: the hold does not grow with the table, so the measured hold is the judgement
 *   (over `lockBudgetMs`: `locks/long-blocking-lock`, UNSAFE);
 * - a scan under the lock, an index build, a rewrite: the hold grows with the table, so it is
 *   extrapolated to the production size, linearly: measured µs per seeded row × production rows
 *   (or per byte of the table when production gives only its size). Over the budget is UNSAFE
 *   (`locks/blocking-scan`, `/blocking-index-build`, `/table-rewrite`, `/index-rebuild`); within
 *   it is information (`locks/within-budget-at-production`). Without a production size the
 *   judgement is at seed volume and says how to give one: a build or rewrite stays UNSAFE (its
 *   time grows with the table), a scan within the budget is WARN (`locks/scan-at-seed-volume`).
 * A TRUNCATE (new, empty storage) is not a rewrite: a brief lock, WARN (`locks/table-emptied`).
 * Waiting for a lock is WARN (`locks/lock-wait`), with who blocked it and whether it was then
 * held. A foreign key left without a supporting index is WARN (`locks/unindexed-foreign-key`),
 * with the index to add. Locks on relations the migration itself created block nobody.
 */
import { classifySql, type LockClass, type TableClass, worse } from './lock-class.ts';
import { type ProductionSizes, STATS_QUERY } from './production-size.ts';
import type { FileEvidence, Finding, LockEvidence, WaitEvidence } from './types.ts';

const fmt = (ms: number) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms).toLocaleString('en-US')} ms`;
/** A duration for people: ms below a second, then s, min, h. */
export const fmtDuration = (ms: number) =>
  ms < 1000
    ? fmt(ms)
    : ms < 60_000
      ? `${(ms / 1000).toFixed(1)} s`
      : ms < 3_600_000
        ? `${(ms / 60_000).toFixed(1)} min`
        : `${(ms / 3_600_000).toFixed(1)} h`;
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
/** `AccessExclusiveLock` → `ACCESS EXCLUSIVE`. */
export const modeName = (mode: string) =>
  mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();

/** A hold extrapolated to production: the basis, the figure and where the size came from. */
export interface Extrapolation {
  basis: 'rows' | 'bytes';
  seed: number;
  production: number;
  source: string;
  ms: number;
}

/** Linear extrapolation of `holdMs`, measured on `seed` rows (or bytes), to the production size; undefined without one. */
export function extrapolate(
  holdMs: number,
  seed: { rows?: number | undefined; bytes?: number | undefined },
  size: ProductionSizes[string] | undefined,
): Extrapolation | undefined {
  if (!size) return undefined;
  if (size.rows !== undefined && (seed.rows ?? 0) > 0) {
    const rows = seed.rows as number;
    return { basis: 'rows', seed: rows, production: size.rows, source: size.source, ms: (holdMs / rows) * size.rows };
  }
  if (size.bytes !== undefined && (seed.bytes ?? 0) > 0) {
    const bytes = seed.bytes as number;
    return {
      basis: 'bytes',
      seed: bytes,
      production: size.bytes,
      source: size.source,
      ms: (holdMs / bytes) * size.bytes,
    };
  }
  return undefined;
}

const HOW_TO_SIZE = (table: string) =>
  `judged at seed volume: give the production size with --production-rows ${table}=N, or --production-stats stats.json exported with \`${STATS_QUERY}\``;

const CODES: Record<Exclude<LockClass, 'metadata'>, string> = {
  scan: 'locks/blocking-scan',
  build: 'locks/blocking-index-build',
  rewrite: 'locks/table-rewrite',
};

/** Judges every file's locks and rewrites; `sqlOf` gives a file's SQL (for the statement classes). */
export function checkLocks(
  files: FileEvidence[],
  lockBudgetMs: number,
  production: ProductionSizes = {},
  sqlOf: (migration: string) => string | undefined = () => undefined,
): { findings: Finding[]; evidence: Record<string, unknown> } {
  const findings: Finding[] = [];
  const blocking: Record<string, unknown>[] = [];
  for (const file of files) {
    const tableLock = new Map<string, LockEvidence>();
    for (const l of file.locks) if (l.kind === 'table') tableLock.set(l.relation, l);
    const seedRows = (table: string) =>
      tableLock.get(table)?.rows ??
      file.rewritten.find((r) => (r.table ?? r.relation) === table && r.rows !== undefined)?.rows ??
      0;

    // What each table's statements did: the SQL's classes, outranked by the measured rewrites and builds.
    const classes = classifySql(sqlOf(file.migration) ?? '');
    const judged = new Set<string>();
    const put = (table: string, c: TableClass) => {
      const cur = classes.get(table);
      if (!cur || worse(cur.cls, c.cls) !== cur.cls) classes.set(table, c);
    };
    const rewrittenTables = new Map<string, FileEvidence['rewritten']>();
    for (const r of file.rewritten) {
      const table = r.kind === 'table' ? r.relation : (r.table ?? r.relation);
      rewrittenTables.set(table, [...(rewrittenTables.get(table) ?? []), r]);
    }
    for (const [table, rels] of rewrittenTables) {
      const emptied = rels.some((r) => r.kind === 'table' && r.emptied);
      const lock = tableLock.get(table);
      const rows = seedRows(table);
      if (!emptied) {
        put(table, {
          cls: 'rewrite',
          what: `rewrote ${rels.map((r) => `"${r.relation}"`).join(', ')}`,
          scaledBy: table,
        });
        continue;
      }
      // TRUNCATE: new, empty storage. A brief ACCESS EXCLUSIVE that does not grow; the rows lost are data/rows-lost.
      judged.add(table);
      if (rows === 0) continue;
      const mode = lock?.mode ?? 'AccessExclusiveLock';
      findings.push({
        code: 'locks/table-emptied',
        verdict: 'WARN',
        migration: file.migration,
        target: table,
        message: `Table "${table}" (${count(rows)} rows) was emptied, not rewritten (new empty storage for ${rels.map((r) => `"${r.relation}"`).join(', ')}) under ${mode}${lock ? ` held ${fmt(lock.holdMs)}` : ''}: the time does not grow with the table, but all ${rows} rows are gone.`,
        evidence: {
          class: 'metadata',
          rows,
          emptied: rels.map((r) => r.relation),
          lockMode: mode,
          holdMs: lock?.holdMs ?? null,
        },
      });
    }
    for (const idx of file.created.filter((c) => c.kind === 'index' && c.table))
      put(idx.table as string, { cls: 'build', what: `built index "${idx.relation}"`, scaledBy: idx.table as string });

    for (const [table, c] of classes) {
      if (c.cls === 'metadata' || judged.has(table)) continue;
      const rels = rewrittenTables.get(table);
      const rows = seedRows(c.scaledBy);
      if (rows === 0) continue;
      const tableItself = !rels || rels.some((r) => r.kind === 'table' || r.kind === 'materialized view');
      let lock = tableLock.get(table);
      if (!lock && c.cls === 'rewrite') {
        // Every rewrite path (ALTER TABLE … TYPE, SET ACCESS METHOD, VACUUM FULL, CLUSTER, TRUNCATE) takes ACCESS EXCLUSIVE;
        // when no sample caught it, it was held for (at most) the whole file.
        lock = {
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
      }
      if (!lock?.existed || !lock.blocksWrites || lock.granted === false) continue;
      judged.add(table);
      const scaled = tableLock.get(c.scaledBy) ?? lock;
      const x = extrapolate(lock.holdMs, { rows, bytes: scaled.bytes }, production[c.scaledBy]);
      const over = x ? x.ms > lockBudgetMs : lock.holdMs > lockBudgetMs;
      const base = c.cls === 'rewrite' && !tableItself ? 'locks/index-rebuild' : CODES[c.cls];
      const code =
        x && !over
          ? 'locks/within-budget-at-production'
          : !x && c.cls === 'scan' && !over
            ? 'locks/scan-at-seed-volume'
            : base;
      const verdict =
        code === 'locks/within-budget-at-production'
          ? 'INFO'
          : code === 'locks/scan-at-seed-volume'
            ? 'WARN'
            : 'UNSAFE';
      const by = c.scaledBy === table ? '' : ` while "${c.scaledBy}" was scanned`;
      const held = `held ${modeName(lock.mode)} on ${table} for ${fmt(lock.holdMs)}${lock.inferred ? ' (inferred: no sample caught it)' : ''}${by} at ${count(rows)} rows${c.scaledBy === table ? '' : ` of ${c.scaledBy}`}`;
      const at = x
        ? `; at ${x.basis === 'rows' ? `${count(x.production)} rows` : mib(x.production)}${c.scaledBy === table ? '' : ` of ${c.scaledBy}`} (from ${x.source}) ≈ ${fmtDuration(x.ms)}, ${over ? 'over' : 'within'} the ${fmt(lockBudgetMs)} budget`
        : `, ${over ? 'over' : 'within'} the ${fmt(lockBudgetMs)} budget; ${HOW_TO_SIZE(c.scaledBy)}`;
      const waitsFor = lock.blocksReads ? 'reads and writes wait' : 'writes wait';
      const fix =
        c.cls === 'build'
          ? ' Use CREATE INDEX CONCURRENTLY, alone in its migration file.'
          : c.cls === 'scan' && /CHECK|FOREIGN KEY/.test(c.what)
            ? ' Add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes SHARE UPDATE EXCLUSIVE: writes go on).'
            : c.cls === 'scan'
              ? ' Add a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL uses it and skips the scan.'
              : '';
      findings.push({
        code,
        verdict,
        migration: file.migration,
        target: table,
        message: `"${table}": the file ${c.what} (the time grows with the table) and ${held}${at}${over ? `: ${waitsFor} that long.${fix}` : '.'}`,
        evidence: {
          class: c.cls,
          rows,
          ...(rels ? { rewritten: rels.map((r) => r.relation) } : {}),
          ...(c.cls === 'build' ? { index: file.created.find((i) => i.table === table)?.relation } : {}),
          lockMode: lock.mode,
          holdMs: lock.holdMs,
          lockInferred: !!lock.inferred,
          budgetMs: lockBudgetMs,
          ...(x
            ? { extrapolatedMs: Math.round(x.ms), basis: x.basis, productionSize: x.production, sizeSource: x.source }
            : { judgedAt: 'seed volume' }),
          ...(c.scaledBy !== table ? { scaledBy: c.scaledBy } : {}),
          ...(c.cls === 'rewrite' ? { walBytes: file.walBytes } : {}),
        },
      });
    }
    for (const l of file.locks) {
      if (l.kind !== 'table' || !l.existed || !l.blocksWrites || l.granted === false) continue;
      blocking.push({
        migration: file.migration,
        relation: l.relation,
        mode: l.mode,
        holdMs: l.holdMs,
        class: classes.get(l.relation)?.cls ?? 'metadata',
      });
      if (judged.has(l.relation) || seedRows(l.relation) === 0 || l.holdMs <= lockBudgetMs) continue;
      // Metadata-only: the measured hold is the judgement (it does not grow with the table).
      findings.push({
        code: 'locks/long-blocking-lock',
        verdict: 'UNSAFE',
        migration: file.migration,
        target: l.relation,
        message: `"${l.relation}" (${l.rows ?? '?'} rows) was locked ${l.mode} held ${fmt(l.holdMs)}, over the ${fmt(lockBudgetMs)} budget (lockBudgetMs): ${l.blocksReads ? 'reads and writes' : 'writes'} wait that long.`,
        evidence: { class: 'metadata', lockMode: l.mode, holdMs: l.holdMs, rows: l.rows, budgetMs: lockBudgetMs },
      });
    }
    const wait = lockWait(file);
    if (wait) findings.push(wait);
  }
  findings.push(...foreignKeyFindings(files));
  const strongest = files.flatMap((f) =>
    f.locks
      .filter((l) => l.existed && l.kind === 'table')
      .map((l) => ({ migration: f.migration, relation: l.relation, mode: l.mode, holdMs: l.holdMs, rows: l.rows })),
  );
  return {
    findings,
    evidence: {
      lockBudgetMs,
      production: Object.keys(production).length ? production : 'none (judged at seed volume)',
      maxBlockingHoldMs: Math.max(
        0,
        ...files.flatMap((f) => f.locks.filter((l) => l.existed && l.blocksWrites).map((l) => l.holdMs)),
      ),
      blocking,
      rewritten: files.flatMap((f) => f.rewritten.map((r) => `${f.migration}: ${r.relation}`)),
      locks: strongest,
    },
  };
}

const oneLine = (q: string | null) => {
  const s = (q ?? '').replace(/\s+/g, ' ').trim();
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
};

/** What a wait was for, in words. */
function waitTarget(w: WaitEvidence): string {
  if (w.locktype === 'relation') return `${w.mode} on "${w.relation}"`;
  if (w.locktype === 'transactionid') return `${w.mode} on another transaction (a row it wrote or locked)`;
  if (w.locktype === 'virtualxid') return `${w.mode} on another session's transaction (its snapshot)`;
  if (w.locktype === 'tuple') return `${w.mode} on a row${w.relation ? ` of "${w.relation}"` : ''}`;
  return `${w.mode} on a ${w.locktype} lock`;
}

/** The file's lock waits as one WARN: how long, for what, blocked by whom, and whether it was then held. */
function lockWait(file: FileEvidence): Finding | undefined {
  const waits = file.waits ?? [];
  const legacy = waits.length === 0 ? file.locks.filter((l) => l.waitedMs > 0) : [];
  if (waits.length === 0 && legacy.length === 0) return undefined;
  const parts = waits.map((w) => {
    const held = file.locks.find((l) => l.relation === w.relation && l.mode === w.mode && l.holdMs > 0);
    const by = w.blockers.length
      ? `, blocked by ${w.blockers.map((b) => `pid ${b.pid} (${b.application || '?'}${b.query ? `: ${oneLine(b.query)}` : ''})`).join('; ')}`
      : '';
    const outcome = !w.granted
      ? ' — not held (the file failed while waiting)'
      : held
        ? ` — then held ${fmt(held.holdMs)}`
        : ' — then granted';
    return `waited ${fmt(w.waitedMs)} for ${waitTarget(w)}${by}${outcome}`;
  });
  for (const l of legacy) parts.push(`waited ${fmt(l.waitedMs)} for ${l.mode} on "${l.relation}"`);
  const relations = [...new Set([...waits.map((w) => w.relation ?? w.locktype), ...legacy.map((l) => l.relation)])];
  return {
    code: 'locks/lock-wait',
    verdict: 'WARN',
    migration: file.migration,
    target: relations.join(', '),
    message: `The migration ${parts.join('; ')}. In production lock_timeout bounds such a wait; while it waits, every later request for the table queues behind it.`,
    evidence: {
      waits: waits.length
        ? waits
        : legacy.map((l) => ({
            relation: l.relation,
            mode: l.mode,
            waitedMs: l.waitedMs,
            granted: l.granted !== false,
          })),
    },
  };
}

/** Foreign keys still without a supporting index after the head apply, each attributed to the first file that left it so. */
function foreignKeyFindings(files: FileEvidence[]): Finding[] {
  const last = files.at(-1)?.unindexedForeignKeys ?? [];
  return last.map((g) => {
    const from = files.find((f) =>
      f.unindexedForeignKeys?.some((x) => x.table === g.table && x.constraint === g.constraint),
    );
    return {
      code: 'locks/unindexed-foreign-key',
      verdict: 'WARN' as const,
      ...(from ? { migration: from.migration } : {}),
      target: `${g.table}(${g.columns.join(', ')})`,
      message: `Foreign key "${g.constraint}" on ${g.table}(${g.columns.join(', ')}) → ${g.references} has no supporting index: every DELETE on ${g.references}, or UPDATE of its key, scans ${g.table}. Add it in its own migration file: ${g.fix}`,
      evidence: { ...g },
    };
  });
}
