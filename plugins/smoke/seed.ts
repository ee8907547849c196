/**
 * Seeds every table by introspection: parents before children (foreign keys in topological
 * order; a cycle is broken at a nullable foreign key, filled in by an UPDATE afterwards),
 * NOT NULL and unique columns respected, CHECK constraints used as a filter, enums cycled
 * through every value. Values come from `values.ts`; rows that still collide with a unique
 * index are dropped by ON CONFLICT DO NOTHING, so counts can come out below the target.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { describeError } from '../core/errors.ts';
import { type ColumnInfo, column, type ForeignKey, ident, introspect, type TableInfo } from './introspect.ts';
import type { SeedSummary } from './types.ts';
import { hashMod, valueExpr } from './values.ts';

/** Seeder settings. */
export interface SeedOptions {
  rows: number;
  rowsPerTable: Record<string, number>;
  seedValue: number;
}

/** A per-column salt that depends on names, not oids, so the same schema gets the same rows anywhere. */
function salt(seedValue: number, ...parts: string[]): number {
  return createHash('sha256')
    .update(`${seedValue}\0${parts.join('\0')}`)
    .digest()
    .readInt32BE(0);
}

/** Orders tables parents-first; foreign keys that close a cycle (or point at their own table) are deferred. */
export function seedOrder(tables: TableInfo[]): { order: TableInfo[]; deferred: Map<number, ForeignKey[]> } {
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const deferred = new Map<number, ForeignKey[]>();
  const defer = (t: TableInfo, fk: ForeignKey) => deferred.set(t.oid, [...(deferred.get(t.oid) ?? []), fk]);
  const pending = new Map<number, Set<number>>();
  for (const t of tables) {
    const parents = new Set<number>();
    for (const fk of t.foreignKeys) {
      if (fk.refTable === t.oid) defer(t, fk);
      else if (byOid.has(fk.refTable)) parents.add(fk.refTable);
    }
    pending.set(t.oid, parents);
  }
  const order: TableInfo[] = [];
  while (pending.size > 0) {
    const ready = [...pending].filter(([, parents]) => parents.size === 0).map(([oid]) => oid);
    if (ready.length === 0) {
      // A cycle: break it at the table whose remaining foreign keys are all nullable, else at any table.
      const remaining = [...pending.keys()].map((oid) => byOid.get(oid) as TableInfo);
      const nullableOnly = (t: TableInfo) =>
        t.foreignKeys
          .filter((fk) => pending.has(fk.refTable) && fk.refTable !== t.oid)
          .every((fk) => fk.columns.every((n) => !column(t, n)?.notNull));
      const pick = remaining.find(nullableOnly) ?? (remaining[0] as TableInfo);
      for (const fk of pick.foreignKeys) if (pending.has(fk.refTable) && fk.refTable !== pick.oid) defer(pick, fk);
      pending.set(pick.oid, new Set());
      continue;
    }
    for (const oid of ready) {
      order.push(byOid.get(oid) as TableInfo);
      pending.delete(oid);
      for (const parents of pending.values()) parents.delete(oid);
    }
  }
  return { order, deferred };
}

/** `SELECT array_agg(...)` of a foreign key's referenced columns (a0, a1, …), aligned by a shared ORDER BY. */
function parentSelect(fk: ForeignKey, parent: TableInfo): string {
  const refs = fk.refColumns.map((n) => ident(column(parent, n)?.name ?? '?'));
  const aggs = refs.map((r, k) => `array_agg(${r} ORDER BY ${refs.join(', ')}) AS a${k}`);
  return `SELECT ${aggs.join(', ')} FROM ${parent.qname} WHERE ${refs.map((r) => `${r} IS NOT NULL`).join(' AND ')}`;
}

const parentArrays = (fk: ForeignKey, parent: TableInfo, alias: string) => `(${parentSelect(fk, parent)}) AS ${alias}`;

interface Plan {
  columns: string[];
  exprs: string[];
  from: string[];
  unsupported: ColumnInfo[];
}

function plan(
  table: TableInfo,
  byOid: Map<number, TableInfo>,
  deferred: ForeignKey[],
  opts: SeedOptions,
  adversarial: boolean,
): Plan {
  const p: Plan = { columns: [], exprs: [], from: [], unsupported: [] };
  const fkOf = new Map<number, { fk: ForeignKey; k: number }>();
  const live = table.foreignKeys.filter((fk) => !deferred.includes(fk) && byOid.has(fk.refTable));
  for (const fk of live) {
    for (const [k, n] of fk.columns.entries()) fkOf.set(n, { fk, k });
  }
  const inUnique = (n: number) => table.uniques.some((u) => u.includes(n)) || table.uniqueExprColumns.includes(n);
  // Foreign keys in a unique set (join tables, one-to-one) walk their parents in mixed radix, so pairs stay distinct.
  const radix: string[] = [];
  const pickIndex = new Map<ForeignKey, string>();
  live.forEach((fk, f) => {
    const alias = `p${f}`;
    p.from.push(parentArrays(fk, byOid.get(fk.refTable) as TableInfo, alias));
    const card = `greatest(cardinality(${alias}.a0), 1)`;
    if (fk.columns.some(inUnique)) {
      const div = radix.length ? ` / (${radix.join(' * ')})` : '';
      pickIndex.set(fk, `(1 + (((g.i - 1)${div}) % ${card}))`);
      radix.push(card);
    } else {
      pickIndex.set(fk, `(1 + ${hashMod(card, salt(opts.seedValue, table.label, fk.name))})`);
    }
  });
  for (const col of table.columns) {
    if (col.generated || col.identity !== '') continue;
    // Keys with a default (serial, uuid default): let the database number them, so sequences advance.
    if (col.default !== null && (table.primaryKey.includes(col.attnum) || /nextval\(/i.test(col.default))) continue;
    const viaFk = fkOf.get(col.attnum);
    if (viaFk) {
      const alias = `p${live.indexOf(viaFk.fk)}`;
      const pick = `${alias}.a${viaFk.k}[${pickIndex.get(viaFk.fk)}]`;
      const nullable = viaFk.fk.columns.every((n) => !column(table, n)?.notNull);
      p.columns.push(col.name);
      p.exprs.push(adversarial && nullable ? `CASE WHEN g.i % 7 = 3 THEN NULL ELSE ${pick} END` : pick);
      continue;
    }
    const isDeferredFk = deferred.some((fk) => fk.columns.includes(col.attnum));
    if (isDeferredFk) {
      if (!col.notNull) continue; // NULL now, filled in after every table has rows
    }
    let enumArray: string | undefined;
    if (col.isEnum && col.category !== 'A') {
      enumArray = `e${col.attnum}.v`;
      p.from.push(`(SELECT enum_range(NULL::${col.baseType}) AS v) AS e${col.attnum}`);
    }
    const expr = valueExpr(col, {
      adversarial,
      unique: inUnique(col.attnum),
      salt: salt(opts.seedValue, table.label, col.name),
      ...(enumArray ? { enumArray } : {}),
    });
    if (expr === undefined) {
      if (col.notNull && col.default === null) p.unsupported.push(col);
      continue;
    }
    p.columns.push(col.name);
    p.exprs.push(expr);
  }
  return p;
}

function insertSql(table: TableInfo, p: Plan, n: number, withChecks: boolean, onConflict: boolean): string {
  const cols = p.columns.map(ident);
  const select = p.exprs.map((e, k) => `${e} AS ${cols[k]}`).join(',\n    ');
  const from = [`generate_series(1::bigint, ${n}::bigint) AS g(i)`, ...p.from].join(' CROSS JOIN ');
  const where =
    withChecks && table.checks.length ? `\n WHERE ${table.checks.map((c) => `(${c}) IS NOT FALSE`).join(' AND ')}` : '';
  return `INSERT INTO ${table.qname} (${cols.join(', ')})\nSELECT ${cols.join(', ')} FROM (\n  SELECT ${select}\n  FROM ${from}\n) AS gen${where}${onConflict ? '\nON CONFLICT DO NOTHING' : ''}`;
}

function targetRows(table: TableInfo, opts: SeedOptions): number {
  return (
    opts.rowsPerTable[table.label] ??
    opts.rowsPerTable[`${table.schema}.${table.name}`] ??
    opts.rowsPerTable[table.name] ??
    opts.rows
  );
}

/** Fills a deferred (nullable) foreign key for two rows in three, pointing at existing parent rows. */
async function fillDeferred(
  client: pg.Client,
  table: TableInfo,
  fk: ForeignKey,
  parent: TableInfo,
  seedValue: number,
): Promise<void> {
  const s = salt(seedValue, table.label, fk.name, 'deferred');
  const card = 'greatest(cardinality(p.a0), 1)';
  const sets = fk.columns.map((n, k) => `${ident(column(table, n)?.name ?? '?')} = p.a${k}[x.k]`).join(', ');
  await client.query(
    `WITH p AS (${parentSelect(fk, parent)}),
          x AS (SELECT c.ctid AS id, 1 + ${hashMod(card, s, 'hashtextextended(c.ctid::text, 0)')} AS k
                  FROM ${table.qname} c, p WHERE hashtextextended(c.ctid::text, ${s}) % 3 <> 0)
     UPDATE ${table.qname} c SET ${sets} FROM x, p WHERE c.ctid = x.id`,
  );
}

/** Generates rows for every user table of the database `client` is connected to. */
export async function seedByIntrospection(client: pg.Client, opts: SeedOptions): Promise<SeedSummary> {
  const t0 = performance.now();
  const tables = await introspect(client);
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const { order, deferred } = seedOrder(tables);
  const summary: SeedSummary = { mode: 'generated', durationMs: 0, tables: [], warnings: [] };
  // Foreign-key values are picked from the parents' rows, so the per-row RI trigger checks are
  // redundant; replica mode skips them (and user triggers) while seeding. Needs a superuser.
  const replica = await client
    .query("SET session_replication_role = 'replica'")
    .then(() => true)
    .catch(() => false);
  for (const table of order) {
    const n = targetRows(table, opts);
    const started = performance.now();
    const mine = deferred.get(table.oid) ?? [];
    let inserted: number | undefined;
    let note: string | undefined;
    let lastError = '';
    // Most adversarial first; a CHECK filter that names a column we did not generate, or a domain
    // constraint that rejects an edge value, falls back to plainer rows rather than none.
    for (const [adversarial, withChecks] of [
      [true, true],
      [true, false],
      [false, true],
      [false, false],
    ] as const) {
      const p = plan(table, byOid, mine, opts, adversarial);
      if (p.unsupported.length) {
        lastError = `no generator for NOT NULL column(s) without a default: ${p.unsupported.map((c) => `${c.name} ${c.type}`).join(', ')}`;
        break;
      }
      if (n === 0) {
        inserted = 0;
        break;
      }
      try {
        // Plain INSERT first: ON CONFLICT's speculative insertion costs about half again per row,
        // and most tables have no collisions; a unique violation retries with it.
        const plain = client.query(insertSql(table, p, n, withChecks, false));
        inserted =
          (
            await plain.catch(async (err: { code?: string }) => {
              if (err.code !== '23505') throw err;
              return client.query(insertSql(table, p, n, withChecks, true));
            })
          ).rowCount ?? 0;
        if (!adversarial) note = `plain values only (edge values were rejected: ${lastError})`;
        break;
      } catch (err) {
        lastError = describeError(err);
      }
    }
    if (inserted === undefined) {
      summary.warnings.push(`table ${ident(table.label)} was not seeded: ${lastError}`);
      summary.tables.push({ table: table.label, rows: 0, note: `not seeded: ${lastError}` });
      continue;
    }
    const ms = Math.round(performance.now() - started);
    summary.tables.push(
      note ? { table: table.label, rows: inserted, ms, note } : { table: table.label, rows: inserted, ms },
    );
  }
  for (const [oid, fks] of deferred) {
    const table = byOid.get(oid) as TableInfo;
    for (const fk of fks) {
      const parent = byOid.get(fk.refTable);
      if (!parent) continue;
      await fillDeferred(client, table, fk, parent, opts.seedValue).catch((err: unknown) => {
        summary.warnings.push(
          `foreign key ${ident(fk.name)} of ${ident(table.label)} left NULL: ${describeError(err)}`,
        );
      });
    }
  }
  if (replica) await client.query('RESET session_replication_role');
  await client.query('ANALYZE');
  summary.durationMs = performance.now() - t0;
  return summary;
}
