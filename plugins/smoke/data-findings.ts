/**
 * The words and samples of the data check's findings: what a type change did to the values it
 * changed, which migration a table's loss comes from (a TRUNCATE names itself), and the
 * before/after samples, whose "before" comes from the restored pre-migration backup and can
 * withdraw a "rounded" or "truncated" the two types suggested.
 */
import type pg from 'pg';
import { type ColumnSnapshot, keyExpr, type TableSnapshot } from './fingerprint.ts';
import { type ColumnInfo, escapeRegExp, ident, namesIdentifier, type TableInfo } from './introspect.ts';
import { effectHolds, type TypeEffect } from './type-change.ts';
import type { Finding } from './types.ts';

/** What the type change does to the values it changed, as a clause of the message. */
export function changeClause(effect: TypeEffect, words: string, using: string | undefined): string {
  if (using) return ` USING ${using} (the expression decides; compare the samples)`;
  return effect === 'converted' || !words ? ' (converted; compare the samples)' : `, which ${words}`;
}

/** What a scalar → array change did to the values it changed (`nulls` of them were NULL, `kept` values were not changed). */
export function wrapClause(changed: number, nulls: number, kept: number): string {
  const parts = [
    nulls > 0 ? `${nulls} NULLs became {NULL} (an array holding NULL, which \`IS NULL\` no longer matches)` : '',
    changed > nulls ? `${changed - nulls} are not the old value as a one-element array` : '',
  ].filter(Boolean);
  return `, which wraps each value in an array: ${parts.join('; ')}; ${kept} other values are kept as one-element arrays`;
}

/** The message of `data/values-changed`. */
export function changedMessage(
  target: string,
  changed: number,
  rows: number,
  before: string,
  after: string,
  clause: string,
) {
  const how = before === after ? ' (an UPDATE or a conversion)' : ` by the type change ${before} → ${after}${clause}`;
  return `Column ${ident(target)}: ${changed} of ${rows} values changed${how}.`;
}

/** Attributes a table (and column) to the last new migration whose SQL names it. */
export function attribute(
  migrations: { name: string; sql: string | undefined }[],
  table: string,
  column?: string,
): string | undefined {
  const hit = migrations.filter(
    (m) => m.sql && namesIdentifier(m.sql, table) && (!column || namesIdentifier(m.sql, column)),
  );
  return hit.at(-1)?.name;
}

/** The SQL of the migration `attribute` picks. */
export function sqlOf(migrations: { name: string; sql: string | undefined }[], table: string, column?: string) {
  const name = attribute(migrations, table, column);
  return migrations.find((m) => m.name === name)?.sql;
}

/** The last new migration with a TRUNCATE of `table` (or a TRUNCATE … CASCADE, which reaches tables it does not name). */
function truncatedBy(migrations: { name: string; sql: string | undefined }[], table: string): string | undefined {
  const esc = escapeRegExp(table);
  const named = new RegExp(`\\bTRUNCATE\\b[^;]*(^|[^A-Za-z0-9_])"?${esc}"?($|[^A-Za-z0-9_])`, 'i');
  const cascade = /\bTRUNCATE\b[^;]*\bCASCADE\b/i;
  return migrations.filter((m) => m.sql && (named.test(m.sql) || cascade.test(m.sql))).at(-1)?.name;
}

/** The `data/rows-lost` finding of a table that lost `lost` of its rows and holds `after` now. */
export function rowsLost(
  snap: TableSnapshot,
  lost: number,
  after: number,
  how: string,
  migrations: { name: string; sql: string | undefined }[],
  evidence: Record<string, unknown>,
): Finding {
  const base = { code: 'data/rows-lost', verdict: 'UNSAFE' as const, target: snap.label };
  if (after === 0 && lost === snap.rows) {
    const by = truncatedBy(migrations, snap.name);
    return {
      ...base,
      ...(by ? { migration: by } : {}),
      message: `Table ${ident(snap.label)} was emptied: all ${snap.rows} rows are gone (${by ? `TRUNCATE in "${by}"` : 'TRUNCATE, a DELETE without WHERE, or a cascade'}).`,
      evidence: { ...evidence, emptied: true, ...(by ? { truncatedBy: by } : {}) },
    };
  }
  return { ...base, message: `Table ${ident(snap.label)} lost ${lost} of ${snap.rows} rows (${how}).`, evidence };
}

/** Current values of `column` for a few keys, as text. */
export async function sampleAfter(
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
    // "rounded" and "truncated" come from the two types; a sample that is neither withdraws the claim.
    const ev = f.evidence as Record<string, unknown>;
    const effect = ev.effect as TypeEffect | undefined;
    if (effect !== 'rounded' && effect !== 'truncated') continue;
    const typeAfter = String(ev.typeAfter);
    if (sample.every((s) => effectHolds(effect, { type: typeAfter }, s.before ?? null, s.after))) continue;
    ev.effect = 'converted';
    f.message = changedMessage(
      f.target,
      Number(ev.changed),
      Number(ev.rows),
      String(ev.typeBefore),
      typeAfter,
      ` (converted: the samples are not ${effect} values; compare them)`,
    );
  }
}
