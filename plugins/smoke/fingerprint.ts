/**
 * Content fingerprints. Every value is reduced to a canonical text by its type category, so
 * a type change that keeps values equal compares equal (int → bigint, varchar → text,
 * numeric(10,2) → numeric(14,2)) and one that does not is caught (numeric → integer rounds,
 * timestamp → timestamptz under a non-UTC TimeZone shifts instants):
 * - numbers: `trim_scale(v::numeric)` (12.50 = 12.5; integers as their text, which is the same);
 * - dates, times, timestamps, intervals: seconds since the epoch (timestamp read as UTC);
 * - json/jsonb: `v::jsonb::text`; everything else: `v::text`.
 * When a column's category changes, the new value is cast back to the old type first.
 * The snapshot keeps one hash per row and column (`hashtextextended`, 64 bits) in unlogged
 * side tables keyed by the row key, so the comparison after the migration counts lost rows
 * and changed values per column exactly; tables without a key compare aggregates only.
 */
import type pg from 'pg';
import { type ColumnInfo, ident, introspect, rowKey, SIDE_SCHEMA, type TableInfo } from './introspect.ts';

/** One column's fingerprint: non-null values and the sum of their hashes. */
export interface ColumnSnapshot {
  attnum: number;
  name: string;
  type: string;
  category: string;
  typname: string;
  generated: boolean;
  nonNull: number;
  hash: string;
}

/** One table's fingerprint. */
export interface TableSnapshot {
  oid: number;
  schema: string;
  name: string;
  label: string;
  qname: string;
  rows: number;
  /** Columns (attnums) of the row key, when the table has one. */
  key?: number[];
  /** Side table with per-row hashes, when keyed. */
  side?: string;
  columns: ColumnSnapshot[];
}

/** Canonical text of `expr` for a column of `category`/`typname`. */
export function canonical(expr: string, category: string, typname: string, major: number): string {
  // Integers print like trim_scale(numeric) does ('5', '-12'), without the numeric conversion's cost.
  if (typname === 'int2' || typname === 'int4' || typname === 'int8') return `(${expr})::text`;
  if (category === 'N') return major >= 13 ? `trim_scale((${expr})::numeric)::text` : `(${expr})::numeric::text`;
  // A date goes through timestamp explicitly: date_part on a bare date would pick timestamptz and the session TimeZone.
  if (typname === 'date') return `extract(epoch from (${expr})::timestamp)::text`;
  if (category === 'D' || category === 'T') return `extract(epoch from (${expr}))::text`;
  if (typname === 'json' || typname === 'jsonb') return `(${expr})::jsonb::text`;
  return `(${expr})::text`;
}

const hashOf = (canon: string) => `hashtextextended(${canon}, 0)`;
const colRef = (c: { name: string }, alias = '') => `${alias}${ident(c.name)}`;

/** SQL of the row key: canonical texts of the key columns joined by U+001F. */
export function keyExpr(
  cols: { name: string; category: string; typname: string }[],
  major: number,
  alias = '',
): string {
  const parts = cols.map((c) => canonical(colRef(c, alias), c.category, c.typname, major));
  return parts.length === 1 ? (parts[0] as string) : `concat_ws(chr(31), ${parts.join(', ')})`;
}

const asSnapCol = (c: ColumnInfo): Omit<ColumnSnapshot, 'nonNull' | 'hash'> => ({
  attnum: c.attnum,
  name: c.name,
  type: c.type,
  category: c.isEnum ? 'E' : c.category,
  typname: c.baseTypname,
  generated: c.generated,
});

/** Aggregate fingerprints of one table: rows, and per column non-null count and hash sum. */
async function aggregate(
  client: pg.Client,
  from: string,
  hashes: { alias: string; expr: string }[],
): Promise<{ rows: number; cols: { nonNull: number; hash: string }[] }> {
  const sel = hashes.flatMap((h) => [
    `count(${h.alias})::bigint AS "n_${h.alias}"`,
    `coalesce(sum(${h.alias}::numeric), 0)::text AS "s_${h.alias}"`,
  ]);
  const inner = hashes.length ? hashes.map((h) => `${h.expr} AS ${h.alias}`).join(', ') : '1 AS one';
  const { rows } = await client.query(
    `SELECT count(*)::bigint AS rows${sel.length ? `, ${sel.join(', ')}` : ''} FROM (SELECT ${inner} FROM ${from}) x`,
  );
  const r = rows[0] as Record<string, string>;
  return {
    rows: Number(r.rows),
    cols: hashes.map((h) => ({ nonNull: Number(r[`n_${h.alias}`]), hash: String(r[`s_${h.alias}`]) })),
  };
}

/**
 * Records row counts and per-column fingerprints of every user table, and per-row hashes in
 * `shipgate_smoke` side tables (unlogged) for keyed tables.
 */
export async function takeSnapshot(
  client: pg.Client,
  major: number,
  opts: { tables?: TableInfo[]; side?: boolean } = {},
): Promise<TableSnapshot[]> {
  const list = opts.tables ?? (await introspect(client));
  const withSide = opts.side !== false;
  if (withSide) await client.query(`DROP SCHEMA IF EXISTS ${SIDE_SCHEMA} CASCADE; CREATE SCHEMA ${SIDE_SCHEMA}`);
  const out: TableSnapshot[] = [];
  for (const t of list) {
    const cols = t.columns.map(asSnapCol);
    const key = withSide ? rowKey(t) : undefined;
    const hashes = cols.map((c) => ({
      alias: `c${c.attnum}`,
      expr: hashOf(canonical(colRef(c), c.category, c.typname, major)),
    }));
    let side: string | undefined;
    let from = t.qname;
    if (key) {
      side = `${SIDE_SCHEMA}.${ident(`t${t.oid}`)}`;
      const keyCols = key.map(asSnapCol);
      await client.query(
        `CREATE UNLOGGED TABLE ${side} AS SELECT ${keyExpr(keyCols, major)} AS k${hashes.length ? `, ${hashes.map((h) => `${h.expr} AS ${h.alias}`).join(', ')}` : ''} FROM ${t.qname}`,
      );
      from = side;
    }
    const agg = key
      ? await aggregate(
          client,
          from,
          hashes.map((h) => ({ alias: h.alias, expr: h.alias })),
        )
      : await aggregate(client, from, hashes);
    const snap: TableSnapshot = {
      oid: t.oid,
      schema: t.schema,
      name: t.name,
      label: t.label,
      qname: t.qname,
      rows: agg.rows,
      columns: cols.map((c, i) => ({ ...c, nonNull: agg.cols[i]?.nonNull ?? 0, hash: agg.cols[i]?.hash ?? '0' })),
    };
    if (key && side) {
      snap.key = key.map((c) => c.attnum);
      snap.side = side;
    }
    out.push(snap);
  }
  return out;
}

/**
 * Fingerprints the tables of `expected` in another database (a restored backup) by schema,
 * table and column names; returns the mismatches (empty when identical).
 */
export async function compareAggregates(
  client: pg.Client,
  expected: TableSnapshot[],
  major: number,
): Promise<string[]> {
  const present = new Map((await introspect(client)).map((t) => [`${t.schema}.${t.name}`, t]));
  const problems: string[] = [];
  for (const snap of expected) {
    const t = present.get(`${snap.schema}.${snap.name}`);
    if (!t) {
      problems.push(`table ${ident(snap.label)} is missing`);
      continue;
    }
    const cols = snap.columns.filter((c) => t.columns.some((x) => x.name === c.name));
    const missing = snap.columns.filter((c) => !cols.includes(c)).map((c) => c.name);
    if (missing.length) problems.push(`table ${ident(snap.label)} lacks column(s) ${missing.join(', ')}`);
    const agg = await aggregate(
      client,
      t.qname,
      cols.map((c, i) => ({ alias: `c${i}`, expr: hashOf(canonical(colRef(c), c.category, c.typname, major)) })),
    );
    if (agg.rows !== snap.rows) problems.push(`table ${ident(snap.label)} has ${agg.rows} rows, expected ${snap.rows}`);
    cols.forEach((c, i) => {
      const got = agg.cols[i];
      if (got && (got.nonNull !== c.nonNull || got.hash !== c.hash)) {
        problems.push(
          `column ${ident(`${snap.label}.${c.name}`)} differs (${got.nonNull} values, expected ${c.nonNull})`,
        );
      }
    });
  }
  return problems;
}

/** Drops the side tables. */
export async function dropSideTables(client: pg.Client): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${SIDE_SCHEMA} CASCADE`);
}
