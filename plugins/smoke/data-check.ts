/**
 * The data check: rows and values lost or changed by the head migrations, per table and
 * column, against the snapshot. Columns are matched by table oid and attnum, so a real
 * RENAME keeps its values while a rename done as DROP + ADD (as Prisma generates it) shows
 * as a dropped column; a dropped column whose every value reappears in a new column of the
 * same table counts as moved, not lost.
 */
import type pg from 'pg';
import { describeError } from '../core/errors.ts';
import { attribute, changeClause, changedMessage, rowsLost, sampleAfter, sqlOf, wrapClause } from './data-findings.ts';
import { type ColumnSnapshot, canonical, keyExpr, type TableSnapshot } from './fingerprint.ts';
import { type ColumnInfo, ident, introspect, type TableInfo } from './introspect.ts';
import { typeEffect, usingClause } from './type-change.ts';
import type { Finding } from './types.ts';

export { attribute, sampleBefore } from './data-findings.ts';

const SAMPLES = 3;

interface Current {
  table: TableInfo;
  /** snapshot attnum → current column (same oid: by attnum; recreated table: by name). */
  byOld: Map<number, ColumnInfo>;
}

function currentOf(snap: TableSnapshot, tables: TableInfo[]): Current | undefined {
  const same = tables.find((t) => t.oid === snap.oid);
  const table = same ?? tables.find((t) => t.schema === snap.schema && t.name === snap.name);
  if (!table) return undefined;
  const byOld = new Map<number, ColumnInfo>();
  for (const c of snap.columns) {
    const now = same ? table.columns.find((x) => x.attnum === c.attnum) : table.columns.find((x) => x.name === c.name);
    if (now) byOld.set(c.attnum, now);
  }
  return { table, byOld };
}

const catOf = (c: ColumnInfo) => (c.isEnum ? 'E' : c.category);

/** A scalar column that became an array: its values are compared as one-element arrays. */
const becameArray = (old: ColumnSnapshot, now: ColumnInfo) => old.category !== 'A' && catOf(now) === 'A';

/**
 * The canonical hash of the current column, comparable with the snapshot's: cast back to the old
 * type when the category changed; for a scalar that became an array, the element of a
 * one-element array (anything else, `{NULL}` included, never matches: NULL became not NULL).
 */
function newHash(old: ColumnSnapshot, now: ColumnInfo, major: number, alias: string): string {
  const ref = `${alias}${ident(now.name)}`;
  if (catOf(now) === old.category) return `hashtextextended(${canonical(ref, catOf(now), now.baseTypname, major)}, 0)`;
  if (becameArray(old, now)) {
    const element = canonical(`(${ref})[array_lower(${ref}, 1)]::${old.type}`, old.category, old.typname, major);
    const one = `array_ndims(${ref}) = 1 AND cardinality(${ref}) = 1 AND (${ref})[array_lower(${ref}, 1)] IS NOT NULL`;
    return `CASE WHEN ${ref} IS NULL THEN NULL WHEN ${one} THEN hashtextextended(${element}, 0) ELSE hashtextextended((${ref})::text, 7) END`;
  }
  return `hashtextextended(${canonical(`(${ref})::${old.type}`, old.category, old.typname, major)}, 0)`;
}

/** Compares the database `client` is connected to with `snapshot`. */
export async function checkData(
  client: pg.Client,
  snapshot: TableSnapshot[],
  major: number,
  newMigrations: { name: string; sql: string | undefined }[],
): Promise<{ findings: Finding[]; evidence: Record<string, unknown> }> {
  const tables = await introspect(client);
  const findings: Finding[] = [];
  const perTable: Record<string, unknown>[] = [];
  const wraps: Record<string, unknown>[] = [];
  const push = (f: Finding, table: string, col?: string) => {
    const migration = f.migration ?? attribute(newMigrations, table, col);
    findings.push(migration ? { ...f, migration } : f);
  };
  for (const snap of snapshot) {
    const cur = currentOf(snap, tables);
    if (!cur) {
      if (snap.rows > 0) {
        push(
          {
            code: 'data/table-dropped',
            verdict: 'UNSAFE',
            target: snap.label,
            message: `Table ${ident(snap.label)} was dropped with ${snap.rows} rows.`,
            evidence: { rows: snap.rows },
          },
          snap.name,
        );
      }
      perTable.push({ table: snap.label, before: snap.rows, after: null });
      continue;
    }
    const { table, byOld } = cur;
    const kept = snap.columns.filter((c) => byOld.has(c.attnum) && !c.generated);
    const dropped = snap.columns.filter((c) => !byOld.has(c.attnum) && !c.generated && c.nonNull > 0);
    const added = table.columns.filter((c) => ![...byOld.values()].includes(c) && !c.generated);
    const keyNow = snap.key?.map((n) => byOld.get(n));
    const keyed = snap.side && keyNow?.every((c): c is ColumnInfo => !!c);
    const after = Number((await client.query(`SELECT count(*) AS n FROM ${table.qname}`)).rows[0].n);
    const tableEvidence: Record<string, unknown> = { table: snap.label, before: snap.rows, after };
    perTable.push(tableEvidence);

    if (!keyed) {
      // No key to match rows by: compare counts and column fingerprints.
      if (after < snap.rows) {
        push(
          rowsLost(snap, snap.rows - after, after, 'no key: counted, not matched', newMigrations, {
            before: snap.rows,
            after,
          }),
          snap.name,
        );
      }
      continue;
    }
    const keyCols = (keyNow as ColumnInfo[]).map((c) => ({ name: c.name, category: catOf(c), typname: c.baseTypname }));
    const wrapped = kept.filter((c) => becameArray(c, byOld.get(c.attnum) as ColumnInfo));
    const cand = added.map((c, i) => ({ c, alias: `n${i}` }));
    const sel = [
      'count(*) FILTER (WHERE t.k IS NULL) AS lost',
      `(array_agg(s.k ORDER BY s.k) FILTER (WHERE t.k IS NULL))[1:${SAMPLES}] AS lost_keys`,
      ...kept.flatMap((c) => [
        `count(*) FILTER (WHERE t.k IS NOT NULL AND s.c${c.attnum} IS DISTINCT FROM t.c${c.attnum}) AS ch${c.attnum}`,
        `(array_agg(s.k ORDER BY s.k) FILTER (WHERE t.k IS NOT NULL AND s.c${c.attnum} IS DISTINCT FROM t.c${c.attnum}))[1:${SAMPLES}] AS keys${c.attnum}`,
      ]),
      // Scalar → array: values kept as one-element arrays, and NULLs that became {NULL} (not NULL any more).
      ...wrapped.flatMap((c) => [
        `count(*) FILTER (WHERE t.k IS NOT NULL AND s.c${c.attnum} IS NOT NULL AND s.c${c.attnum} = t.c${c.attnum}) AS kw${c.attnum}`,
        `count(*) FILTER (WHERE t.k IS NOT NULL AND s.c${c.attnum} IS NULL AND t.w${c.attnum}) AS nw${c.attnum}`,
      ]),
      // A dropped column whose values all reappear in a new column was moved, not lost.
      ...dropped.flatMap((d) =>
        cand.map(
          ({ alias }) =>
            `count(*) FILTER (WHERE t.k IS NULL OR s.c${d.attnum} IS DISTINCT FROM t.${alias}) AS mv${d.attnum}_${alias}`,
        ),
      ),
    ];
    const inner = [
      `${keyExpr(keyCols, major)} AS k`,
      ...kept.map((c) => `${newHash(c, byOld.get(c.attnum) as ColumnInfo, major, '')} AS c${c.attnum}`),
      // {NULL}: the one element is NULL.
      ...wrapped.map((c) => {
        const ref = ident((byOld.get(c.attnum) as ColumnInfo).name);
        return `coalesce(cardinality(${ref}) = 1 AND (${ref})[array_lower(${ref}, 1)] IS NULL, false) AS w${c.attnum}`;
      }),
      ...cand.map(
        ({ c, alias }) =>
          `hashtextextended(${canonical(ident(c.name), catOf(c), c.baseTypname, major)}, 0) AS ${alias}`,
      ),
    ];
    const sql = `SELECT ${sel.join(',\n ')} FROM ${snap.side} s LEFT JOIN (SELECT ${inner.join(', ')} FROM ${table.qname}) t ON t.k = s.k`;
    let row: Record<string, unknown>;
    try {
      row = (await client.query(sql)).rows[0] as Record<string, unknown>;
    } catch (err) {
      push(
        {
          code: 'data/not-compared',
          verdict: 'WARN',
          target: snap.label,
          message: `Table ${ident(snap.label)} could not be compared row by row: ${describeError(err)}.`,
        },
        snap.name,
      );
      continue;
    }
    const lost = Number(row.lost);
    tableEvidence.lost = lost;
    if (lost > 0) {
      push(
        rowsLost(snap, lost, after, 'deleted, or cascaded from a parent', newMigrations, {
          before: snap.rows,
          after,
          lost,
          sampleKeys: row.lost_keys,
        }),
        snap.name,
      );
    }
    for (const c of kept) {
      const now = byOld.get(c.attnum) as ColumnInfo;
      const target = `${snap.label}.${c.name}`;
      const changed = Number(row[`ch${c.attnum}`]);
      if (wrapped.includes(c)) {
        wraps.push({
          column: target,
          typeBefore: c.type,
          typeAfter: now.type,
          kept: Number(row[`kw${c.attnum}`]),
          values: c.nonNull,
        });
      }
      if (changed === 0) continue;
      const keys = (row[`keys${c.attnum}`] as string[] | null) ?? [];
      const sample = await sampleAfter(client, table, keyCols, now, keys, major);
      const using = now.type === c.type ? undefined : usingClause(sqlOf(newMigrations, snap.name, c.name), c.name);
      const { effect, words } =
        now.type === c.type
          ? { effect: 'converted' as const, words: '' }
          : typeEffect(c, { ...now, category: catOf(now), typname: now.baseTypname });
      // A wrap is measured (each value compared with the element), so a USING expression does not hide it.
      const isWrap = wrapped.includes(c);
      const shown = isWrap
        ? wrapClause(changed, Number(row[`nw${c.attnum}`]), Number(row[`kw${c.attnum}`]))
        : changeClause(effect, words, using);
      push(
        {
          code: 'data/values-changed',
          verdict: 'UNSAFE',
          target,
          message: changedMessage(target, changed, snap.rows - lost, c.type, now.type, shown),
          evidence: {
            changed,
            rows: snap.rows - lost,
            typeBefore: c.type,
            typeAfter: now.type,
            ...(now.type === c.type ? {} : { effect: using && !isWrap ? 'converted' : effect }),
            ...(using ? { using } : {}),
            sample,
          },
        },
        snap.name,
        c.name,
      );
    }
    for (const d of dropped) {
      const moved = cand.find(({ alias }) => Number(row[`mv${d.attnum}_${alias}`]) === 0);
      if (moved) {
        push(
          {
            code: 'data/column-moved',
            verdict: 'SAFE',
            target: `${snap.label}.${d.name}`,
            message: `Column ${ident(`${snap.label}.${d.name}`)} was dropped, but all ${d.nonNull} values are in the new column ${ident(moved.c.name)}.`,
          },
          snap.name,
          d.name,
        );
        continue;
      }
      const rename = added.length
        ? ` New column(s) ${added.map((c) => ident(c.name)).join(', ')} in the same table: a rename done as DROP + ADD (Prisma does this for a renamed field); use ALTER TABLE … RENAME COLUMN.`
        : '';
      push(
        {
          code: 'data/column-dropped',
          verdict: 'UNSAFE',
          target: `${snap.label}.${d.name}`,
          message: `Column ${ident(`${snap.label}.${d.name}`)} was dropped with ${d.nonNull} non-null values.${rename}`,
          evidence: { values: d.nonNull, type: d.type, added: added.map((c) => c.name) },
        },
        snap.name,
        d.name,
      );
    }
  }
  return { findings, evidence: { tables: perTable, ...(wraps.length ? { wrapped: wraps } : {}) } };
}
