/**
 * Old code on the new schema: the base's statements replayed on the migrated database and on the
 * restored base copy (replay.ts); each statement that only the migration breaks is UNSAFE,
 * grouped by what it names and the SQLSTATE.
 */
import path from 'node:path';
import { describeError } from '../../core/errors.ts';
import { check, connect, round, TITLES } from '../check-kit.ts';
import { escapeRegExp, namesIdentifier, type TableInfo } from '../introspect.ts';
import {
  judge,
  MAX_RECORDED,
  type Outcome,
  prismaStatements,
  type ReplayStatement,
  replayOn,
  sampleRows,
  schemaError,
} from '../replay.ts';
import type { Finding } from '../types.ts';
import { type SmokeCheck, type SmokeContext, seededOf, unlessApplied } from './context.ts';

export const replay: SmokeCheck = {
  id: 'replay',
  title: TITLES.replay,
  needs: 'seeded',
  // The base copy the restore leaves is the differential's other side.
  waitsFor: ['restore'],
  skip: (ctx) => (ctx.opts.replay ? unlessApplied(ctx) : 'replay: false (SHIPGATE_SMOKE_REPLAY=0)'),
  async run(ctx) {
    const t0 = performance.now();
    const seeded = seededOf(ctx);
    const file = ctx.opts.replayQueries;
    const recorded = ctx.opts.replayRecorded;
    let why = 'no base copy (the restore check restored none): judged by the error class alone';
    const targetP = connect(seeded.target.url);
    targetP.catch(() => {});
    const baseP = ctx.baseCopy
      ? connect(ctx.baseCopy.url).catch((err: unknown) => {
          why = `the base copy "${ctx.baseCopy?.name}" did not accept a connection (${describeError(err)}): judged by the error class alone`;
          return undefined;
        })
      : Promise.resolve(undefined);
    try {
      // The base copy's row is sampled while the target connects.
      const samples = await baseP.then(async (b) =>
        b ? sampleRows(b, seeded.tables, true) : sampleRows(await targetP, seeded.tables, false),
      );
      const [target, base] = [await targetP, await baseP];
      const prisma = prismaStatements(seeded.tables, samples);
      const statements = [...prisma.statements, ...(recorded?.statements ?? [])];
      const onTarget = await replayOn(target, statements);
      // judge() reads the base only where the target fails on the schema: replay just those there.
      const ask = base ? onTarget.outcomes.flatMap((o, i) => (!o.ok && schemaError(o.sqlstate) ? [i] : [])) : [];
      const onBase =
        base && ask.length
          ? await replayOn(
              base,
              ask.map((i) => statements[i] as ReplayStatement),
            )
          : undefined;
      const baseOutcome = new Map(ask.map((i, k) => [i, onBase?.outcomes[k]]));
      const judged = onTarget.outcomes.map((o, i) => {
        const b = baseOutcome.get(i);
        // A base replay that stopped early leaves the statement unjudged, not broken.
        return {
          s: statements[i] as ReplayStatement,
          target: o,
          base: b,
          verdict: judge(o, base ? (b ?? o) : undefined),
        };
      });
      const broken = judged.filter((j) => j.verdict === 'broken');
      const unjudged = judged.filter((j) => j.verdict === 'inconclusive');
      const findings = breakages(broken, seeded.tables, ctx, !!base);
      const shown = file ? path.relative(ctx.opts.cwd, file) || file : undefined;
      const recordedUnjudged = unjudged.filter((j) => j.s.recorded);
      if (recordedUnjudged.length)
        findings.push({
          code: 'replay/recorded-inconclusive',
          verdict: 'INFO',
          ...(shown ? { target: shown } : {}),
          message: `${recordedUnjudged.length} recorded statement${recordedUnjudged.length === 1 ? '' : 's'} of ${shown} say${recordedUnjudged.length === 1 ? 's' : ''} nothing about the migration: ${recordedUnjudged
            .slice(0, 3)
            .map((j) =>
              j.base && !j.base.ok
                ? `${j.s.source} fails on the base copy too (${errorText(j.base)})`
                : `${j.s.source} fails with ${errorText(j.target)}, ${schemaError((j.target as { sqlstate?: string }).sqlstate) ? 'and the base copy did not replay it' : 'neither a schema nor a data error'}`,
            )
            .join(
              '; ',
            )}${recordedUnjudged.length > 3 ? ` and ${recordedUnjudged.length - 3} more` : ''}. Re-record them from the base branch's tests.`,
          evidence: { count: recordedUnjudged.length, sources: recordedUnjudged.map((j) => j.s.source) },
        });
      if (recorded && recorded.total > MAX_RECORDED)
        findings.push({
          code: 'replay/recorded-truncated',
          verdict: 'INFO',
          ...(shown ? { target: shown } : {}),
          message: `${shown} holds ${recorded.total} statements; the first ${MAX_RECORDED} were replayed, ${recorded.total - MAX_RECORDED} were not.`,
          evidence: { total: recorded.total, replayed: MAX_RECORDED },
        });
      const stopped = onTarget.stopped ?? onBase?.stopped;
      if (stopped)
        findings.push({
          code: 'replay/stopped',
          verdict: 'INFO',
          message: `The replay ${stopped}.`,
          evidence: { stopped },
        });
      return check(
        'replay',
        TITLES.replay,
        findings,
        {
          replayed: onTarget.outcomes.length,
          broken: broken.length,
          inconclusive: unjudged.length,
          sources: {
            prisma: prisma.statements.length,
            recorded: recorded?.statements.length ?? 0,
            ...(recorded?.skipped ? { skippedTransactionControl: recorded.skipped } : {}),
            ...(shown ? { file: shown } : {}),
          },
          differential: !!base,
          ...(base ? { baseCopy: ctx.baseCopy?.name } : { why }),
          ...(prisma.notes.length ? { notes: prisma.notes } : {}),
          ...(unjudged.length
            ? { unjudged: unjudged.slice(0, 5).map((j) => `${j.s.source}: ${errorText(j.target)}`) }
            : {}),
          replayMs: round(performance.now() - t0),
        },
        performance.now() - t0,
      );
    } finally {
      for (const c of [targetP, baseP]) await c.then((x) => x?.end()).catch(() => {});
    }
  },
};

type Judged = { s: ReplayStatement; target: Outcome; base: Outcome | undefined };

/** One `replay/query-breaks` per target and SQLSTATE, naming every statement it breaks. */
function breakages(broken: Judged[], tables: TableInfo[], ctx: SmokeContext, differential: boolean): Finding[] {
  const groups = new Map<string, { at: Where; items: Judged[] }>();
  for (const j of broken) {
    const at = whereOf(j.s, j.target as Exclude<Outcome, { ok: true }>, tables);
    const key = `${targetText(at)}|${(j.target as { sqlstate?: string }).sqlstate}`;
    const g = groups.get(key) ?? { at, items: [] };
    g.items.push(j);
    groups.set(key, g);
  }
  return [...groups.values()].map(({ at, items }) => {
    const first = items[0] as Judged;
    const err = first.target as Exclude<Outcome, { ok: true }>;
    const target = targetText(at);
    const migration = causedBy(ctx.newFiles, at);
    const sources = items.map((j) => j.s.source);
    const one = sources.length === 1;
    const onBase = !differential
      ? '; not differential: no base copy, judged by the error class alone'
      : first.base?.ok
        ? `; on the base copy ${one ? 'it works' : 'they work'}`
        : `; on the base copy ${one ? 'it stops' : 'they stop'} only at the data (${errorText(first.base)})`;
    return {
      code: 'replay/query-breaks',
      verdict: 'UNSAFE' as const,
      target,
      ...(migration ? { migration } : {}),
      message: `"${target}": the base's ${describeSources(sources)} fail${one ? 's' : ''} on the migrated database with ${errorText(err)}${onBase}. The base's app breaks there during a rolling deploy. Fix: ${fixFor(err.sqlstate)}, or --allow replay/query-breaks:${target}.`,
      evidence: {
        statement: first.s.text.length > 300 ? `${first.s.text.slice(0, 300)}…` : first.s.text,
        sqlstate: err.sqlstate,
        error: err.message,
        base: differential ? (first.base?.ok ? 'ok' : errorText(first.base)) : 'no base copy',
        differential,
        sources,
      },
    };
  });
}

/** `read, create and delete of model users; recorded #2 (line 4)`, at most 8 named. */
function describeSources(sources: string[]): string {
  const models = new Map<string, string[]>();
  const rest: string[] = [];
  for (const s of sources) {
    const m = /^(\w+) of model (.+)$/.exec(s);
    if (m?.[1] && m[2]) models.set(m[2], [...(models.get(m[2]) ?? []), m[1]]);
    else rest.push(s);
  }
  const and = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}` : (xs[0] ?? ''));
  const parts = [...[...models].map(([model, ops]) => `${and(ops)} of model ${model}`), ...rest];
  return parts.length > 8 ? `${parts.slice(0, 8).join('; ')} and ${parts.length - 8} more` : parts.join('; ');
}

const errorText = (o: Outcome | undefined) =>
  !o ? 'no outcome' : o.ok ? 'ok' : `SQLSTATE ${o.sqlstate ?? '(none)'} (${o.message})`;

function fixFor(code: string | undefined): string {
  if (code === '42703') return 'expand and contract: keep the column until the base no longer reads it';
  if (code === '42P01')
    return 'expand and contract: keep the table (or a view by its old name) until the base no longer uses it';
  if (code === '23502') return 'add the column nullable or with a default, and set NOT NULL once the base writes it';
  if (code === '42804' || code === '42883' || code?.startsWith('22'))
    return "expand and contract: keep the column's type (add a new column, backfill, switch) until the base no longer writes the old one";
  return 'expand and contract: keep what the base uses until it no longer does';
}

/** What a broken statement names: a table label and maybe a column. */
interface Where {
  table?: string;
  column?: string;
  fallback: string;
}

const targetText = (w: Where) =>
  w.table ? (w.column ? `${w.table}.${w.column}` : w.table) : w.column ? w.column : w.fallback;

/** The table and column a failure is about: the error's own fields, then its message, then the statement. */
function whereOf(s: ReplayStatement, err: Exclude<Outcome, { ok: true }>, tables: TableInfo[]): Where {
  const label = (schema: string | undefined, table: string) =>
    !schema || schema === 'public' ? table : `${schema}.${table}`;
  const byName = (name: string) => tables.find((t) => t.name === name || t.label === name)?.label;
  const named = (col: string) =>
    s.table ??
    tables.find(
      (t) => t.columns.some((c) => c.name === col) && new RegExp(`\\b${escapeRegExp(t.name)}\\b`).test(s.text),
    )?.label;
  const fallback = s.table ?? s.source;
  if (err.table && err.column) return { table: label(err.schema, err.table), column: err.column, fallback };
  const m = err.message;
  const ofRel = /column "([^"]+)" of relation "([^"]+)"/.exec(m);
  if (ofRel?.[1] && ofRel[2]) return { table: byName(ofRel[2]) ?? ofRel[2], column: ofRel[1], fallback };
  const qualified = /column (\S+)\.(\S+) does not exist/.exec(m);
  if (qualified?.[1] && qualified[2])
    return { ...opt(byName(qualified[1]) ?? named(qualified[2])), column: qualified[2], fallback };
  const col = /column "([^"]+)"/.exec(m)?.[1];
  if (col) return { ...opt(named(col)), column: col, fallback };
  const rel = /relation "([^"]+)" does not exist/.exec(m)?.[1];
  if (rel) return { table: byName(rel.replace(/^public\./, '')) ?? rel.replace(/^public\./, ''), fallback };
  if (err.table) return { table: label(err.schema, err.table), fallback };
  const t = s.table ?? tables.find((x) => new RegExp(`\\b${escapeRegExp(x.name)}\\b`).test(s.text))?.label;
  return { ...opt(t), fallback };
}

const opt = (table: string | undefined) => (table ? { table } : {});

/** The first new migration whose SQL names the table and column (else the column, else the table). */
function causedBy(migrations: SmokeContext['newFiles'], at: Where): string | undefined {
  const table = at.table?.split('.').at(-1);
  const hit = (...parts: (string | undefined)[]) =>
    parts.every(Boolean)
      ? migrations.find((m) => m.sql && parts.every((p) => namesIdentifier(m.sql as string, p as string)))
      : undefined;
  return (hit(table, at.column) ?? hit(at.column) ?? hit(table))?.name;
}
