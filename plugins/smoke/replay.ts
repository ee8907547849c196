/**
 * Old code on the new schema (issue 15 §8). During a rolling deploy the base's app still runs
 * against the migrated database. The base's statements are replayed there and on the restored
 * base copy, each rolled back: the Prisma-shaped ones built from the base tables, plus any the
 * base's tests recorded. A statement that works on the base (or fails there only on the data)
 * and fails on the migrated database with a schema-class error is a breakage.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { ConfigError, describeError } from '../core/errors.ts';
import { type ColumnInfo, column, ident, rowKey, type TableInfo } from './introspect.ts';

/** The most recorded statements replayed; the rest are counted as truncated. */
export const MAX_RECORDED = 5_000;
/** statement_timeout of each replayed statement. */
export const STATEMENT_TIMEOUT = '5s';
/** Wall-time budget of one side's replay, ms; what is left after it is not replayed (said so). */
export const REPLAY_BUDGET_MS = 60_000;

/** One statement to replay. */
export interface ReplayStatement {
  text: string;
  values: unknown[];
  /** `read of model users`, `recorded #3 (line 12)`. */
  source: string;
  /** The base table label it is built for (Prisma-shaped statements). */
  table?: string;
  recorded: boolean;
  /** Set on Prisma-shaped reads, which change nothing. */
  read?: boolean;
}

/** The Prisma client operations replayed per model. */
export type PrismaOp = 'read' | 'create' | 'update' | 'delete';

/** What one statement did on one database. */
export type Outcome =
  | { ok: true }
  | { ok: false; sqlstate: string | undefined; message: string; column?: string; table?: string; schema?: string };

/** A statement's verdict: fine, broken by the migration, or says nothing (fails on the base too, or unclassified). */
export type Judgement = 'ok' | 'broken' | 'inconclusive';

const FIX =
  'expected a .sql file, or JSON/NDJSON of {"text": string, "values"?: unknown[]} (--replay-queries, env SHIPGATE_SMOKE_REPLAY_QUERIES)';
// Sending these would end the replay's transaction (writes kept) or wait for input (COPY FROM STDIN).
const CONTROL =
  /^(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|COPY|DISCARD|DEALLOCATE|PREPARE\s+TRANSACTION)\b/i;
const COMMENTS = /^(\s|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/;

/** The recorded statements of `file`, bounded by MAX_RECORDED; bad content throws one ConfigError listing every problem. */
export function readRecorded(file: string): { statements: ReplayStatement[]; total: number; skipped: number } {
  const name = path.basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot be read (${describeError(err)}); ${FIX}`], { cause: err });
  }
  const problems: string[] = [];
  const entries: { text: string; values: unknown[]; where: string }[] = [];
  const entry = (raw: unknown, where: string) => {
    const obj = raw as { text?: unknown; values?: unknown } | null;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      problems.push(`${file}: ${where}: is ${kind(raw)}, not an object; ${FIX}`);
    else if (typeof obj.text !== 'string' || !obj.text.trim())
      problems.push(`${file}: ${where}: "text" is ${kind(obj.text)}, not a non-empty string; ${FIX}`);
    else if (obj.values !== undefined && !Array.isArray(obj.values))
      problems.push(`${file}: ${where}: "values" is ${kind(obj.values)}, not an array; ${FIX}`);
    else entries.push({ text: obj.text, values: obj.values ?? [], where });
  };
  const ext = path.extname(file).toLowerCase();
  if (ext === '.sql') entries.push(...splitSql(text));
  else if (ext === '.ndjson' || ext === '.jsonl') {
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      try {
        entry(JSON.parse(line), `line ${i + 1}`);
      } catch (err) {
        problems.push(`${file}: line ${i + 1}: not JSON (${describeError(err)}); ${FIX}`);
      }
    });
  } else if (ext === '.json') {
    let all: unknown;
    try {
      all = JSON.parse(text);
    } catch (err) {
      problems.push(`${file}: not JSON (${describeError(err)}); ${FIX}`);
    }
    if (all !== undefined && !Array.isArray(all)) problems.push(`${file}: is ${kind(all)}, not an array; ${FIX}`);
    else if (Array.isArray(all)) {
      for (const [i, e] of all.entries()) entry(e, `index ${i}`);
    }
  } else problems.push(`${file}: extension "${ext || '(none)'}" is not .sql, .json or .ndjson; ${FIX}`);
  if (problems.length > 10) problems.splice(10, problems.length, `… and ${problems.length - 10} more in ${name}`);
  if (problems.length) throw new ConfigError(problems);
  const kept = entries.filter((e) => !CONTROL.test(e.text.replace(COMMENTS, '')));
  return {
    statements: kept.slice(0, MAX_RECORDED).map((e, i) => ({
      text: e.text,
      values: e.values,
      source: `recorded #${i + 1} (${e.where})`,
      recorded: true,
    })),
    total: kept.length,
    skipped: entries.length - kept.length,
  };
}

const kind = (v: unknown) =>
  v === undefined
    ? 'missing'
    : v === null
      ? 'null'
      : Array.isArray(v)
        ? 'an array'
        : typeof v === 'object'
          ? 'an object'
          : `a ${typeof v}`;

/**
 * Splits a .sql file at `;` ending a line (a trailing `--` comment allowed); `--` lines before a
 * statement and chunks of only comments are dropped. A `;` ending a line inside a string or a
 * dollar-quoted body splits there too (recorded app queries rarely have one).
 */
export function splitSql(text: string): { text: string; values: unknown[]; where: string }[] {
  const out: { text: string; values: unknown[]; where: string }[] = [];
  let chunk: string[] = [];
  let start = 0;
  const flush = () => {
    const body = chunk.join('\n').trim();
    if (body.replace(COMMENTS, '').replace(/;$/, '').trim())
      out.push({ text: body, values: [], where: `line ${start}` });
    chunk = [];
    start = 0;
  };
  text.split(/\r?\n/).forEach((line, i) => {
    if (!start && line.trim() && !line.trim().startsWith('--')) start = i + 1;
    // Comment lines before a statement are not part of it.
    if (start) chunk.push(line);
    if (!line.trim().startsWith('--') && /;\s*(--.*)?$/.test(line)) flush();
  });
  flush();
  return out;
}

/**
 * What Prisma's client sends for each base model: every scalar column (generated ones aside,
 * which Prisma cannot model) named in SELECT lists and RETURNING, values bound with the base types (as Prisma's typed binds are), keyed by the primary
 * key. `samples` holds one row per table (label → text values in column order): the create
 * copies it, so on the base it stops at a unique violation, after the NOT NULL and CHECK tests
 * a new required column fails first.
 */
export function prismaStatements(
  tables: TableInfo[],
  samples: Map<string, (string | null)[]>,
): { statements: ReplayStatement[]; notes: string[] } {
  const statements: ReplayStatement[] = [];
  const notes: string[] = [];
  for (const t of tables) {
    if (t.name === '_prisma_migrations' || t.columns.length === 0) continue;
    const row = samples.get(t.label);
    const sampled = (c: ColumnInfo) => row?.[t.columns.indexOf(c)] ?? null;
    // Prisma cannot model a generated column (a create would write it), so the base's client does not name it.
    const modeled = t.columns.filter((c) => !c.generated);
    const all = modeled.map((c) => ident(c.name)).join(', ');
    const keyCols = t.primaryKey.length
      ? t.primaryKey.map((n) => column(t, n)).filter((c): c is ColumnInfo => !!c)
      : rowKey(t);
    const build = (op: PrismaOp, make: (bind: (c: ColumnInfo) => string) => string) => {
      const values: unknown[] = [];
      const bind = (c: ColumnInfo) => {
        values.push(sampled(c));
        return `$${values.length}::${c.type}`;
      };
      const text = make(bind);
      statements.push({
        text,
        values,
        source: `${op} of model ${t.label}`,
        table: t.label,
        recorded: false,
        ...(op === 'read' ? { read: true } : {}),
      });
    };
    const where = (bind: (c: ColumnInfo) => string) =>
      keyCols?.length
        ? keyCols.map((c) => `${ident(c.name)} = ${bind(c)}`).join(' AND ')
        : `ctid = (SELECT ctid FROM ${t.qname} LIMIT 1)`;
    build('read', (b) => `SELECT ${all} FROM ${t.qname}${keyCols?.length ? ` WHERE ${where(b)}` : ''} LIMIT 1`);
    const writable = modeled;
    if (!row) notes.push(`${t.label}: no row to copy, so its create was not replayed`);
    else if (writable.length) {
      const override = writable.some((c) => c.identity === 'a') ? ' OVERRIDING SYSTEM VALUE' : '';
      build(
        'create',
        (b) =>
          `INSERT INTO ${t.qname} (${writable.map((c) => ident(c.name)).join(', ')})${override} VALUES (${writable.map(b).join(', ')}) RETURNING ${all}`,
      );
    }
    const settable = writable.filter((c) => c.identity !== 'a' && !keyCols?.includes(c));
    if (settable.length)
      build('update', (b) => {
        const set = settable.map((c) => `${ident(c.name)} = ${b(c)}`).join(', ');
        return `UPDATE ${t.qname} SET ${set} WHERE ${where(b)} RETURNING ${all}`;
      });
    build('delete', (b) => `DELETE FROM ${t.qname} WHERE ${where(b)} RETURNING ${all}`);
  }
  return { statements, notes };
}

/**
 * One row per base table as text, in column order, in one query: from the base copy when there
 * is one (the base schema and data), else from the migrated database, NULL for the columns it
 * no longer has.
 */
export async function sampleRows(client: pg.Client, tables: TableInfo[], onBase: boolean) {
  const present = new Map<string, Set<string>>();
  if (!onBase) {
    const { rows } = await client.query<{ q: string; attname: string }>(
      `SELECT t.q, a.attname FROM unnest($1::text[]) AS t(q)
         JOIN pg_attribute a ON a.attrelid = to_regclass(t.q) WHERE a.attnum > 0 AND NOT a.attisdropped`,
      [tables.map((t) => t.qname)],
    );
    for (const r of rows) present.set(r.q, (present.get(r.q) ?? new Set()).add(r.attname));
  }
  const parts: { label: string; sql: string }[] = [];
  for (const t of tables) {
    const has = (c: ColumnInfo) => onBase || !!present.get(t.qname)?.has(c.name);
    if (!t.columns.some(has)) continue;
    const key = rowKey(t);
    const order = key?.every(has) ? ` ORDER BY ${key.map((c) => ident(c.name)).join(', ')}` : '';
    const list = t.columns.map((c) => (has(c) ? `${ident(c.name)}::text` : 'NULL::text')).join(', ');
    parts.push({ label: t.label, sql: `(SELECT ARRAY[${list}] FROM ${t.qname}${order} LIMIT 1)` });
  }
  const samples = new Map<string, (string | null)[]>();
  if (!parts.length) return samples;
  const { rows } = await client.query({ text: `SELECT ${parts.map((p) => p.sql).join(', ')}`, rowMode: 'array' });
  parts.forEach((p, i) => {
    const row = (rows[0] as ((string | null)[] | null)[] | undefined)?.[i];
    if (row) samples.set(p.label, row);
  });
  return samples;
}

/**
 * Runs each statement in one transaction, rolled back to a savepoint after each (ROLLBACK TO
 * keeps the savepoint, so one round trip resets it) and rolled back whole at the end. The
 * extended protocol refuses a second command in a statement's text.
 */
export async function replayOn(
  client: pg.Client,
  statements: ReplayStatement[],
  budgetMs = REPLAY_BUDGET_MS,
): Promise<{ outcomes: Outcome[]; stopped?: string }> {
  const outcomes: Outcome[] = [];
  const t0 = performance.now();
  let stopped: string | undefined;
  await client.query(
    `BEGIN; SET LOCAL statement_timeout = '${STATEMENT_TIMEOUT}'; SET LOCAL lock_timeout = '${STATEMENT_TIMEOUT}'; SAVEPOINT replay`,
  );
  try {
    for (const s of statements) {
      if (performance.now() - t0 > budgetMs) {
        stopped = `stopped after ${budgetMs} ms: ${statements.length - outcomes.length} statements not replayed`;
        break;
      }
      try {
        await client.query({ text: s.text, values: s.values, queryMode: 'extended' } as pg.QueryConfig);
        outcomes.push({ ok: true });
        // A Prisma-shaped read that worked changed nothing: no round trip to undo it.
        if (s.read) continue;
      } catch (err) {
        outcomes.push(outcomeOf(err));
      }
      try {
        await client.query('ROLLBACK TO SAVEPOINT replay');
      } catch (err) {
        stopped = `the connection failed after ${s.source}: ${describeError(err)}; ${statements.length - outcomes.length} statements not replayed`;
        break;
      }
    }
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
  return { outcomes, ...(stopped ? { stopped } : {}) };
}

function outcomeOf(err: unknown): Outcome {
  const e = err as Partial<pg.DatabaseError>;
  return {
    ok: false,
    sqlstate: typeof e.code === 'string' ? e.code : undefined,
    message: typeof e.code === 'string' && e.message ? e.message : describeError(err),
    ...(e.column ? { column: e.column } : {}),
    ...(e.table ? { table: e.table } : {}),
    ...(e.schema ? { schema: e.schema } : {}),
  };
}

/** Errors the data causes (duplicate key, missing referenced row, CHECK, one row expected), not the schema. */
export const dataError = (code: string | undefined) =>
  !!code && ((code.startsWith('23') && code !== '23502') || ['21000', '22012', '40001', '40P01'].includes(code));

/** Errors a schema change causes: class 42 (undefined column/table/function, datatype mismatch), 0A, NOT NULL, bad input for a changed type. */
export const schemaError = (code: string | undefined) =>
  !!code &&
  (code.startsWith('42') ||
    code.startsWith('0A') ||
    ['23502', '22P02', '22007', '22008', '22001', '22003', '22P05'].includes(code));

/** The verdict of one statement from its outcome on the migrated database and on the base copy (undefined: none). */
export function judge(target: Outcome, base: Outcome | undefined): Judgement {
  if (target.ok || dataError(target.sqlstate)) return 'ok';
  if (!schemaError(target.sqlstate)) return 'inconclusive';
  if (!base || base.ok || dataError(base.sqlstate)) return 'broken';
  return 'inconclusive';
}
