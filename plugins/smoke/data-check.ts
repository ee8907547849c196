/**
 * The data check: rows and values lost or changed by the head migrations, per table and
 * column, against the snapshot. Columns are matched by table oid and attnum, so a real
 * RENAME keeps its values while a rename done as DROP + ADD (as Prisma generates it) shows
 * as a dropped column; a dropped column whose every value reappears in a new column of the
 * same table counts as moved, not lost.
 */
import type pg from 'pg';
import { describeError } from '../core/errors.ts';
import { type ColumnSnapshot, canonical, keyExpr, type TableSnapshot } from './fingerprint.ts';
import { type ColumnInfo, ident, introspect, type TableInfo } from './introspect.ts';
import type { Finding } from './types.ts';

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

/** The canonical hash of the current column, comparable with the snapshot's (cast back to the old type when the category changed). */
function newHash(old: ColumnSnapshot, now: ColumnInfo, major: number, alias: string): string {
  const ref = `${alias}${ident(now.name)}`;
  if (catOf(now) === old.category) return `hashtextextended(${canonical(ref, catOf(now), now.baseTypname, major)}, 0)`;
  return `hashtextextended(${canonical(`(${ref})::${old.type}`, old.category, old.typname, major)}, 0)`;
}

/** Attributes a table (and column) to the last new migration whose SQL names it. */
export function attribute(
  migrations: { name: string; sql: string | undefined }[],
  table: string,
  column?: string,
): string | undefined {
  const names = (s: string) =>
    new RegExp(`(^|[^A-Za-z0-9_])"?${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?($|[^A-Za-z0-9_])`);
  const hit = migrations.filter((m) => m.sql && names(table).test(m.sql) && (!column || names(column).test(m.sql)));
  return hit.at(-1)?.name;
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
  const push = (f: Finding, table: string, col?: string) => {
    const migration = attribute(newMigrations, table, col);
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
            message: `Table "${snap.label}" was dropped with ${snap.rows} rows.`,
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
          {
            code: 'data/rows-lost',
            verdict: 'UNSAFE',
            target: snap.label,
            message: `Table "${snap.label}" lost ${snap.rows - after} of ${snap.rows} rows (no key: counted, not matched).`,
            evidence: { before: snap.rows, after },
          },
          snap.name,
        );
      }
      continue;
    }
    const keyCols = (keyNow as ColumnInfo[]).map((c) => ({ name: c.name, category: catOf(c), typname: c.baseTypname }));
    const cand = added.map((c, i) => ({ c, alias: `n${i}` }));
    const sel = [
      'count(*) FILTER (WHERE t.k IS NULL) AS lost',
      `(array_agg(s.k ORDER BY s.k) FILTER (WHERE t.k IS NULL))[1:${SAMPLES}] AS lost_keys`,
      ...kept.flatMap((c) => [
        `count(*) FILTER (WHERE t.k IS NOT NULL AND s.c${c.attnum} IS DISTINCT FROM t.c${c.attnum}) AS ch${c.attnum}`,
        `(array_agg(s.k ORDER BY s.k) FILTER (WHERE t.k IS NOT NULL AND s.c${c.attnum} IS DISTINCT FROM t.c${c.attnum}))[1:${SAMPLES}] AS keys${c.attnum}`,
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
          message: `Table "${snap.label}" could not be compared row by row: ${describeError(err)}.`,
        },
        snap.name,
      );
      continue;
    }
    const lost = Number(row.lost);
    tableEvidence.lost = lost;
    if (lost > 0) {
      push(
        {
          code: 'data/rows-lost',
          verdict: 'UNSAFE',
          target: snap.label,
          message: `Table "${snap.label}" lost ${lost} of ${snap.rows} rows (deleted, or cascaded from a parent).`,
          evidence: { before: snap.rows, after, lost, sampleKeys: row.lost_keys },
        },
        snap.name,
      );
    }
    for (const c of kept) {
      const changed = Number(row[`ch${c.attnum}`]);
      if (changed === 0) continue;
      const now = byOld.get(c.attnum) as ColumnInfo;
      const typeChanged = now.type !== c.type;
      const keys = (row[`keys${c.attnum}`] as string[] | null) ?? [];
      const sample = await sampleAfter(client, table, keyCols, now, keys, major);
      push(
        {
          code: 'data/values-changed',
          verdict: 'UNSAFE',
          target: `${snap.label}.${c.name}`,
          message: `Column "${snap.label}.${c.name}": ${changed} of ${snap.rows - lost} values changed${typeChanged ? ` by the type change ${c.type} → ${now.type} (rounding or truncation)` : ' (an UPDATE or a conversion)'}.`,
          evidence: { changed, rows: snap.rows - lost, typeBefore: c.type, typeAfter: now.type, sample },
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
            message: `Column "${snap.label}.${d.name}" was dropped, but all ${d.nonNull} values are in the new column "${moved.c.name}".`,
          },
          snap.name,
          d.name,
        );
        continue;
      }
      const rename = added.length
        ? ` New column(s) ${added.map((c) => `"${c.name}"`).join(', ')} in the same table: a rename done as DROP + ADD (Prisma does this for a renamed field); use ALTER TABLE … RENAME COLUMN.`
        : '';
      push(
        {
          code: 'data/column-dropped',
          verdict: 'UNSAFE',
          target: `${snap.label}.${d.name}`,
          message: `Column "${snap.label}.${d.name}" was dropped with ${d.nonNull} non-null values.${rename}`,
          evidence: { values: d.nonNull, type: d.type, added: added.map((c) => c.name) },
        },
        snap.name,
        d.name,
      );
    }
  }
  return { findings, evidence: { tables: perTable } };
}

/** Current values of `column` for a few keys, as text. */
async function sampleAfter(
  client: pg.Client,
  table: TableInfo,
  keyCols: { name: string; category: string; typname: string }[],
  column: ColumnInfo,
  keys: string[],
  major: number,
): Promise<{ key: string; after: string | null }[]> {
  if (keys.length === 0) return [];
  const k = keyExpr(keyCols, major);
  const { rows } = await client
    .query<{ k: string; v: string | null }>(
      `SELECT ${k} AS k, ${ident(column.name)}::text AS v FROM ${table.qname} WHERE ${k} = ANY($1)`,
      [keys],
    )
    .catch(() => ({ rows: [] as { k: string; v: string | null }[] }));
  return keys.map((key) => ({ key, after: rows.find((r) => r.k === key)?.v ?? null }));
}

/** Fills `before` in changed-value samples from a copy of the pre-migration database (the restored backup). */
export async function sampleBefore(
  client: pg.Client,
  snapshot: TableSnapshot[],
  findings: Finding[],
  major: number,
): Promise<void> {
  for (const f of findings) {
    if (f.code !== 'data/values-changed' || !f.target) continue;
    const sample = f.evidence?.sample as { key: string; after: string | null; before?: string | null }[] | undefined;
    const snap = snapshot.find((s) => f.target?.startsWith(`${s.label}.`));
    const col = snap?.columns.find((c) => f.target === `${snap.label}.${c.name}`);
    if (!sample?.length || !snap?.key || !col) continue;
    const keyCols = snap.key
      .map((n) => snap.columns.find((c) => c.attnum === n))
      .filter((c): c is ColumnSnapshot => !!c);
    const k = keyExpr(keyCols, major);
    const { rows } = await client
      .query<{ k: string; v: string | null }>(
        `SELECT ${k} AS k, ${ident(col.name)}::text AS v FROM ${snap.qname} WHERE ${k} = ANY($1)`,
        [sample.map((s) => s.key)],
      )
      .catch(() => ({ rows: [] as { k: string; v: string | null }[] }));
    for (const s of sample) s.before = rows.find((r) => r.k === s.key)?.v ?? null;
  }
}
