/**
 * Plan checks: what Postgres would do to run a captured statement, and the index it lacks.
 * - `EXPLAIN (FORMAT JSON)`, never `ANALYZE`: the statement is planned, not run, so checking
 *   it changes nothing. It is sent by the extended protocol (one statement per Parse), so a
 *   text holding a second statement cannot run it, and bound with the statement's own
 *   parameters, so the planner sees the values the app sent (a custom plan, as the app got).
 * - A `Seq Scan` with a `Filter` on a table of at least `minRows` rows (pg_class.reltuples)
 *   reads every row to keep some: the columns the filter compares by equality or range are
 *   the index that would let it read only those. A `Sort` fed by such a scan is the same
 *   problem with an order to keep: the filter's equality columns then the sort key.
 * - Table size, not the plan's row estimate, decides: a scan that keeps one row of a million
 *   still reads a million, and a test's small data set would hide it from the estimate alone.
 */
import type pg from 'pg';
import { DatabaseError, describeError, ShipgateError } from '../core/errors.ts';
import { briefShape } from './findings.ts';
import { shapeOf } from './shape.ts';

/** One node of an `EXPLAIN (FORMAT JSON)` plan (the keys this module reads; Postgres gives more). */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  Filter?: string;
  'Sort Key'?: string[];
  Plans?: PlanNode[];
  [key: string]: unknown;
}

/** What {@link explainPlan} found: the plan, or why there is none. */
export type Explained = { explained: true; plan: PlanNode } | { explained: false; reason: string };

/** A plan node an index would fix, with the index ({@link planProblems}). */
export type PlanProblem =
  | { kind: 'seq-scan'; table: string; filter: string; rows: number; suggestion: string | undefined }
  | { kind: 'sort'; table: string; key: string; rows: number; suggestion: string | undefined };

/** A query shape and its plan's problems, as {@link formatPlanProblems} and {@link PlanCheckError} take them. */
export interface PlannedQuery {
  shape: string;
  problems: readonly PlanProblem[];
}

/** Tables smaller than this are not checked (`minRows`, default 10,000): a scan of them is cheap. */
export const DEFAULT_MIN_ROWS = 10_000;

/** The statement kinds worth a plan: they read tables by a plan the app's data can make slow. */
const EXPLAINABLE = /^(SELECT|UPDATE|DELETE|WITH)\b/i;

/**
 * `EXPLAIN (FORMAT JSON)` of `stmt` on `client`, with its parameters bound; or the reason it is
 * not explained: not a SELECT, UPDATE, DELETE or WITH (an INSERT only with a WHERE: INSERT …
 * SELECT … WHERE reads a table), several statements in one text, a parameter sent in binary
 * (its value is unknown), or an error from Postgres (a table dropped since, a temporary table
 * of the app's session). Throws a DatabaseError only when Postgres could not be asked.
 */
export async function explainPlan(
  client: pg.ClientBase | pg.Pool,
  stmt: { text: string; params?: readonly (string | null | undefined)[] | undefined },
): Promise<Explained> {
  const bare = shapeOf(stmt.text).replace(/^[(\s]+/, '');
  const word = (/^[A-Za-z]+/.exec(bare)?.[0] ?? '').toUpperCase();
  if (bare.includes(';')) {
    return { explained: false, reason: 'it holds several statements (a simple query): each has its own plan' };
  }
  if (!EXPLAINABLE.test(bare) && !(word === 'INSERT' && /\bWHERE\b/i.test(bare))) {
    const reason =
      word === 'INSERT'
        ? 'it is an INSERT without a WHERE: it reads no table, so no plan to check'
        : `it is ${word ? `${/^[AEIOU]/.test(word) ? 'an' : 'a'} ${word} statement` : 'not a statement'}, not a SELECT, UPDATE, DELETE or WITH`;
    return { explained: false, reason };
  }
  const params = stmt.params ?? [];
  const binary = params.indexOf(undefined);
  if (binary >= 0) {
    return {
      explained: false,
      reason: `parameter $${binary + 1} was sent in binary format, so its value is unknown`,
    };
  }
  // `queryMode: 'extended'` (node-postgres#3214, not in @types/pg) keeps a parameterless text
  // on the extended protocol too: one statement per Parse. An older pg ignores it; the `;`
  // check above is the guard there.
  const query = { text: `EXPLAIN (FORMAT JSON) ${stmt.text}`, values: [...params], queryMode: 'extended' };
  try {
    const result = await (client as pg.ClientBase).query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      query as pg.QueryConfig,
    );
    const plan = result.rows[0]?.['QUERY PLAN'][0]?.Plan;
    if (!plan) return { explained: false, reason: 'EXPLAIN returned no plan' };
    return { explained: true, plan };
  } catch (err) {
    if (isServerError(err)) return { explained: false, reason: `EXPLAIN failed: ${describeError(err)}` };
    throw new DatabaseError(
      'SHIPGATE_QUERIES_EXPLAIN',
      `EXPLAIN of "${briefShape(shapeOf(stmt.text))}" could not reach Postgres: ${describeError(err)}.`,
      { cause: err },
    );
  }
}

/** An error Postgres answered with (it has a severity and an SQLSTATE), not a lost connection. */
function isServerError(err: unknown): boolean {
  const e = err as { severity?: unknown; code?: unknown };
  return typeof e?.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);
}

/** The tables `plan` scans sequentially, each once: what {@link tableRows} needs for {@link planProblems}. */
export function seqScanTables(plan: PlanNode): string[] {
  const out = new Set<string>();
  const walk = (node: PlanNode) => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) out.add(node['Relation Name']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return [...out];
}

/**
 * Rows per table, as the planner knows them: pg_class.reltuples, or for a table never analyzed
 * or vacuumed (reltuples -1 since Postgres 14) the live rows the statistics collector counted,
 * which lag a few hundred ms behind. Tables not visible on the search path are left out.
 */
export async function tableRows(
  client: pg.ClientBase | pg.Pool,
  tables: readonly string[],
): Promise<Map<string, number>> {
  if (tables.length === 0) return new Map();
  const { rows } = await (client as pg.ClientBase).query<{ name: string; rows: number }>(
    `SELECT c.relname AS name,
            (CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE coalesce(s.n_live_tup, 0) END)::float8 AS rows
       FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'm') AND pg_table_is_visible(c.oid)`,
    [tables],
  );
  return new Map(rows.map((r) => [r.name, r.rows]));
}

/**
 * The nodes of `plan` an index would fix: each filtered `Seq Scan` of a table with at least
 * `minRows` rows in `stats` ({@link tableRows}), and each `Sort` whose input is one. A table
 * missing from `stats` is not judged.
 */
export function planProblems(
  plan: PlanNode,
  stats: ReadonlyMap<string, number>,
  { minRows = DEFAULT_MIN_ROWS }: { minRows?: number } = {},
): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const flagged = (node: PlanNode) => {
    const table = node['Relation Name'];
    if (node['Node Type'] !== 'Seq Scan' || !table || !node.Filter) return undefined;
    const rows = stats.get(table);
    return rows !== undefined && rows >= minRows ? { table, filter: node.Filter, rows } : undefined;
  };
  // Children first: a Sort's problem reads after the scan it sorts.
  const walk = (node: PlanNode) => {
    for (const child of node.Plans ?? []) walk(child);
    const scan = flagged(node);
    if (scan) {
      const { equal, range } = filterColumns(scan.filter);
      problems.push({ kind: 'seq-scan', ...scan, suggestion: indexOn(scan.table, [...equal, ...range].map(quote)) });
    }
    const input = node['Node Type'] === 'Sort' ? node.Plans?.[0] : undefined;
    const sorted = input && flagged(input);
    const sortKey = node['Sort Key'];
    if (sorted && sortKey?.length) {
      const keys = sortColumns(sortKey);
      // The filter's `=` columns first: with them fixed, the index is already in key order.
      const equal = filterColumns(sorted.filter).equal.filter((c) => !keys.some((k) => k.column === c));
      const columns = [...equal.map(quote), ...keys.map((k) => (k.desc ? `${quote(k.column)} DESC` : quote(k.column)))];
      problems.push({
        kind: 'sort',
        table: sorted.table,
        key: sortKey.join(', '),
        rows: sorted.rows,
        suggestion: keys.length ? indexOn(sorted.table, columns) : undefined,
      });
    }
  };
  walk(plan);
  return problems;
}

const quote = (ident: string) => `"${ident.replaceAll('"', '""')}"`;
const indexOn = (table: string, columns: readonly string[]) =>
  columns.length ? `CREATE INDEX ON ${quote(table)} (${columns.join(', ')});` : undefined;

const IDENT = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const COLUMN = new RegExp(String.raw`^(?:${IDENT}\.)?(${IDENT})$`);
const COMPARISON = / (=|<|<=|>|>=) /;

/**
 * The columns a filter compares with a value, by equality (`=`, `= ANY (…)`, `IS NULL`) and by
 * range (`<`, `<=`, `>`, `>=`), from Postgres' own rendering of it, e.g.
 * `((status = 'open'::text) AND ("authorId" = 3))` or `((kind)::text = 'a'::text)`. Only the
 * top-level AND's terms count: an OR needs an index per side, and an expression
 * (`lower(email) = …`) an expression index, which is for a person to choose.
 */
export function filterColumns(filter: string): { equal: string[]; range: string[] } {
  const equal: string[] = [];
  const range: string[] = [];
  for (const term of splitTop(unwrap(filter), ' AND ')) {
    const t = unwrap(term);
    const isNull = /^(.+) IS NULL$/.exec(masked(t));
    if (isNull) {
      const c = columnOf(t.slice(0, (isNull[1] as string).length));
      if (c) equal.push(c);
      continue;
    }
    const m = COMPARISON.exec(masked(t));
    if (!m) continue;
    const left = columnOf(t.slice(0, m.index));
    const right = columnOf(t.slice(m.index + m[0].length));
    // A column compared with a column is no lookup (nor is a constant with a constant).
    const column = left && !right ? left : right && !left ? right : undefined;
    if (!column) continue;
    (m[1] === '=' ? equal : range).push(column);
  }
  // Equality columns lead: an index serves a range only on the columns after those fixed by `=`.
  return { equal: [...new Set(equal)], range: [...new Set(range)].filter((c) => !equal.includes(c)) };
}

/** The plain columns leading a Sort Key (`"createdAt" DESC`, `t.id`), up to the first expression. */
function sortColumns(keys: readonly string[]): { column: string; desc: boolean }[] {
  const out: { column: string; desc: boolean }[] = [];
  for (const key of keys) {
    const m = /^(.+?)(?: (ASC|DESC))?(?: NULLS (?:FIRST|LAST))?$/.exec(key.trim());
    const column = m && columnOf(m[1] as string);
    if (!column) break;
    out.push({ column, desc: m[2] === 'DESC' });
  }
  return out;
}

/** The column `operand` names (`status`, `t."authorId"`, `(kind)::text`), unquoted; or undefined. */
function columnOf(operand: string): string | undefined {
  let s = operand.trim();
  for (;;) {
    const cast = masked(s).lastIndexOf('::');
    if (cast > 0) s = s.slice(0, cast).trim();
    const inner = unwrap(s);
    if (cast <= 0 && inner === s) break;
    s = inner;
  }
  if (/^(true|false|null)$/i.test(s)) return undefined;
  const m = COLUMN.exec(s);
  if (!m) return undefined;
  const name = m[1] as string;
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}

/**
 * `s` with everything inside quotes or parentheses (and the parentheses) blanked to `\0`, the
 * same length, so top-level text can be searched and its indexes used on `s`.
 */
function masked(s: string): string {
  let out = '';
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      out += '\0';
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    out += depth === 0 && !quote && ch !== ')' ? ch : '\0';
  }
  return out;
}

/** `s` without the parentheses around all of it: `((a = 1))` → `a = 1`, but `(a) = (b)` as it is. */
function unwrap(s: string): string {
  let t = s.trim();
  // Wrapped when the `(` at the start closes at the very end: the masked text is all `\0` then.
  while (t.length >= 2 && t.startsWith('(') && t.endsWith(')') && masked(t).replaceAll('\0', '') === '') {
    t = t.slice(1, -1).trim();
  }
  return t;
}

/** `s` split at each top-level `sep` (not inside quotes or parentheses). */
function splitTop(s: string, sep: string): string[] {
  const mask = masked(s);
  const parts: string[] = [];
  let from = 0;
  for (let at = mask.indexOf(sep); at >= 0; at = mask.indexOf(sep, at + sep.length)) {
    parts.push(s.slice(from, at));
    from = at + sep.length;
  }
  parts.push(s.slice(from));
  return parts;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * One line per problem: the query shape, the table and its rows, the filter or sort key, and
 * the index to add, e.g. `Query "SELECT … FROM tickets WHERE status = ?" scans all of
 * "tickets" (50,000 rows) for (status = 'open'::text): CREATE INDEX ON "tickets" ("status");`.
 */
export function formatPlanProblems(queries: readonly PlannedQuery[]): string {
  const lines: string[] = [];
  for (const q of queries) {
    for (const p of q.problems) {
      const what =
        p.kind === 'seq-scan'
          ? `scans all of "${p.table}" (${count(p.rows)} rows) for ${p.filter}`
          : `sorts rows of "${p.table}" (${count(p.rows)} rows, scanned in full) by ${p.key}`;
      const fix = p.suggestion ?? 'no plain column to index (an OR or an expression): choose the index by hand';
      lines.push(`Query "${briefShape(q.shape)}" ${what}: ${fix}`);
    }
  }
  return lines.join('\n');
}

/**
 * Captured queries whose plans scan a large table for a filter or a sort (code
 * SHIPGATE_QUERIES_PLAN); `queries` has every one, the message a line per problem.
 */
export class PlanCheckError extends ShipgateError {
  readonly queries: readonly PlannedQuery[];

  constructor(queries: readonly PlannedQuery[], options: { cause?: unknown; minRows?: number } = {}) {
    const n = queries.reduce((sum, q) => sum + q.problems.length, 0);
    super(
      'SHIPGATE_QUERIES_PLAN',
      `${n} query plan problem${n === 1 ? '' : 's'} on tables of ${count(options.minRows ?? DEFAULT_MIN_ROWS)} rows or more:\n${formatPlanProblems(queries)}`,
      {
        cause: options.cause,
        hint: 'Add the suggested index in a migration; a table under `minRows` rows is not checked.',
      },
    );
    this.queries = queries;
  }
}
