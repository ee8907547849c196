/**
 * Reads the user tables of a database from the catalogs: columns with their types and
 * limits, keys, unique constraints, foreign keys and CHECK expressions. Both the seeder and
 * the snapshot work from this. System, extension-owned and shipgate's own tables are left out.
 */
import type pg from 'pg';

/** Schema where the smoke keeps its per-row fingerprints while it runs. */
export const SIDE_SCHEMA = 'shipgate_smoke';

/** One column. */
export interface ColumnInfo {
  attnum: number;
  name: string;
  /** `format_type()`, e.g. `character varying(200)`, `"Role"`. */
  type: string;
  /** pg_type.typcategory of the column's type, or of the domain's base type. */
  category: string;
  /** Base type name when the column's type is a domain (for generation), else the type itself. */
  baseType: string;
  /** pg_type.typname of the base type (`int4`, `varchar`, `timestamptz`, `_text` …). */
  baseTypname: string;
  /** Element typname of an array type. */
  elemTypname?: string;
  isEnum: boolean;
  enumValues: number;
  isDomain: boolean;
  notNull: boolean;
  default: string | null;
  identity: '' | 'a' | 'd';
  generated: boolean;
  /** Character limit of varchar(n)/char(n). */
  maxLength?: number;
  /** numeric(p,s). */
  precision?: number;
  scale?: number;
}

/** A foreign key: local columns → referenced table's columns. */
export interface ForeignKey {
  name: string;
  columns: number[];
  refTable: number;
  refColumns: number[];
}

/** One table. */
export interface TableInfo {
  oid: number;
  schema: string;
  name: string;
  /** Quoted, schema-qualified. */
  qname: string;
  /** `name` in `public`, else `schema.name`: how the report names it. */
  label: string;
  columns: ColumnInfo[];
  primaryKey: number[];
  /** Column sets that must be unique (primary key, unique constraints, plain unique indexes). */
  uniques: number[][];
  foreignKeys: ForeignKey[];
  /** CHECK expressions (without `CHECK`/`NOT VALID`). */
  checks: string[];
  /** Columns named in unique expression indexes (e.g. `lower(email)`): generated injective too. */
  uniqueExprColumns: number[];
}

/** Quotes an identifier. */
export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** `text` with the regular-expression metacharacters escaped. */
export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `sql` names the identifier `name`, quoted or bare, not as part of a longer name. */
export function namesIdentifier(sql: string, name: string, flags = ''): boolean {
  return new RegExp(`(^|[^A-Za-z0-9_])"?${escapeRegExp(name)}"?($|[^A-Za-z0-9_])`, flags).test(sql);
}

/** Reads every user table (plain and partitioned parents, not partitions). */
export async function introspect(client: pg.Client | pg.PoolClient): Promise<TableInfo[]> {
  const rels = await client.query<{ oid: number; nspname: string; relname: string }>(
    `SELECT c.oid::int AS oid, n.nspname, c.relname
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1) AND n.nspname NOT LIKE 'pg\\_%'
        AND c.relname <> '_prisma_migrations'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY n.nspname, c.relname`,
    [SIDE_SCHEMA],
  );
  const oids = rels.rows.map((r) => r.oid);
  if (oids.length === 0) return [];
  const cols = await client.query<{
    rel: number;
    attnum: number;
    attname: string;
    type: string;
    category: string;
    typtype: string;
    base_type: string;
    base_typname: string;
    elem_typname: string | null;
    enum_values: number;
    attnotnull: boolean;
    def: string | null;
    attidentity: string;
    attgenerated: string;
    typmod: number;
  }>(
    `SELECT a.attrelid::int AS rel, a.attnum::int AS attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
            bt.typcategory AS category, t.typtype,
            format_type(bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END) AS base_type,
            bt.typname AS base_typname, et.typname AS elem_typname,
            (SELECT count(*)::int FROM pg_enum e WHERE e.enumtypid = bt.oid) AS enum_values,
            a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity::text AS attidentity,
            a.attgenerated::text AS attgenerated,
            (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)::int AS typmod
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
       LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const cons = await client.query<{
    rel: number;
    conname: string;
    contype: string;
    conkey: number[];
    confrelid: number;
    confkey: number[] | null;
    def: string;
  }>(
    `SELECT conrelid::int AS rel, conname, contype::text AS contype, conkey::int[] AS conkey, confrelid::int AS confrelid,
            confkey::int[] AS confkey, pg_get_constraintdef(oid) AS def
       FROM pg_constraint WHERE conrelid = ANY($1) AND contype IN ('p', 'u', 'f', 'c') ORDER BY conrelid, conname`,
    [oids],
  );
  const uidx = await client.query<{ rel: number; cols: number[]; expr: string | null }>(
    `SELECT indrelid::int AS rel, indkey::int[] AS cols, pg_get_expr(indexprs, indrelid) AS expr FROM pg_index
      WHERE indrelid = ANY($1) AND indisunique AND indpred IS NULL`,
    [oids],
  );

  return rels.rows.map((r) => {
    const columns: ColumnInfo[] = cols.rows
      .filter((c) => c.rel === r.oid)
      .map((c) => {
        const col: ColumnInfo = {
          attnum: c.attnum,
          name: c.attname,
          type: c.type,
          category: c.category,
          baseType: c.base_type,
          baseTypname: c.base_typname,
          isEnum: c.enum_values > 0,
          enumValues: c.enum_values,
          isDomain: c.typtype === 'd',
          notNull: c.attnotnull,
          default: c.def,
          identity: c.attidentity as ColumnInfo['identity'],
          generated: c.attgenerated !== '',
        };
        if (c.elem_typname) col.elemTypname = c.elem_typname;
        if (['varchar', 'bpchar'].includes(c.base_typname) && c.typmod > 4) col.maxLength = c.typmod - 4;
        if (c.base_typname === 'numeric' && c.typmod > 4) {
          col.precision = ((c.typmod - 4) >> 16) & 0xffff;
          col.scale = (c.typmod - 4) & 0xffff;
        }
        return col;
      });
    const mine = cons.rows.filter((c) => c.rel === r.oid);
    const primaryKey = mine.find((c) => c.contype === 'p')?.conkey ?? [];
    const uniques = [
      ...mine.filter((c) => c.contype === 'p' || c.contype === 'u').map((c) => c.conkey),
      ...uidx.rows.filter((u) => u.rel === r.oid && u.expr === null).map((u) => u.cols),
    ];
    const exprs = uidx.rows.filter((u) => u.rel === r.oid && u.expr !== null).map((u) => u.expr as string);
    const uniqueExprColumns = columns
      .filter((c) =>
        exprs.some((e) =>
          new RegExp(`(^|[^A-Za-z0-9_])"?${c.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?($|[^A-Za-z0-9_])`).test(e),
        ),
      )
      .map((c) => c.attnum);
    const seen = new Set<string>();
    return {
      oid: r.oid,
      schema: r.nspname,
      name: r.relname,
      qname: `${ident(r.nspname)}.${ident(r.relname)}`,
      label: r.nspname === 'public' ? r.relname : `${r.nspname}.${r.relname}`,
      columns,
      primaryKey,
      uniques: uniques.filter((u) => {
        const key = [...u].sort().join(',');
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      }),
      foreignKeys: mine
        .filter((c) => c.contype === 'f')
        .map((c) => ({ name: c.conname, columns: c.conkey, refTable: c.confrelid, refColumns: c.confkey ?? [] })),
      uniqueExprColumns,
      checks: mine
        .filter((c) => c.contype === 'c')
        .map((c) =>
          c.def
            .replace(/^CHECK\s*/, '')
            .replace(/\s+NOT VALID$/, '')
            .replace(/\s+NO INHERIT$/, ''),
        ),
    };
  });
}

/** The column with `attnum`. */
export function column(table: TableInfo, attnum: number): ColumnInfo | undefined {
  return table.columns.find((c) => c.attnum === attnum);
}

/** A key to match rows by: the primary key, else a unique column set whose columns are all NOT NULL. */
export function rowKey(table: TableInfo): ColumnInfo[] | undefined {
  const candidates = table.primaryKey.length ? [table.primaryKey, ...table.uniques] : table.uniques;
  for (const set of candidates) {
    const cols = set.map((n) => column(table, n));
    if (cols.length > 0 && cols.every((c): c is ColumnInfo => !!c && c.notNull)) return cols;
  }
  return undefined;
}
