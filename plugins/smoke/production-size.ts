/**
 * Production sizes of tables, for extrapolating the locks of scans, index builds and rewrites
 * (lock-check.ts): from `--production-rows table=N` (option `productionRows`, env
 * SHIPGATE_SMOKE_PRODUCTION_ROWS), or from a stats snapshot exported from production
 * (`--production-stats stats.json`, env SHIPGATE_SMOKE_PRODUCTION_STATS) with
 * {@link STATS_QUERY}: `{ "<table>": { "rows": reltuples, "bytes": pg_total_relation_size } }`.
 * Rows given per table win over the snapshot's. A snapshot's `rows` of -1 (never analysed) is
 * unknown; its `bytes` are then the basis.
 */
import { readFileSync } from 'node:fs';
import { label } from './lock-class.ts';

/** The one-line export of a production stats snapshot (public schema; edit the namespace for others). */
export const STATS_QUERY = `psql -Atc "select json_object_agg(c.oid::regclass, json_build_object('rows', c.reltuples, 'bytes', pg_total_relation_size(c.oid))) from pg_class c where c.relkind='r' and c.relnamespace='public'::regnamespace" > stats.json`;

/** One table's production size and where it came from (`--production-rows`, `stats.json (--production-stats)`). */
export interface TableSize {
  rows?: number;
  bytes?: number;
  source: string;
}

/** Production sizes by table label (`name` in public, else `schema.name`). */
export type ProductionSizes = Record<string, TableSize>;

const COUNT = /^\d[\d_]*$/;

/** Parses `table=N` entries (each may be a comma list); `source` names the flag or env var in problems. */
export function parseProductionRows(
  entries: readonly string[],
  source: string,
): { sizes: ProductionSizes; problems: string[] } {
  const sizes: ProductionSizes = {};
  const problems: string[] = [];
  for (const item of entries.flatMap((e) => e.split(',')).map((e) => e.trim())) {
    if (!item) continue;
    const at = item.lastIndexOf('=');
    const table = at > 0 ? item.slice(0, at).trim() : '';
    const n = at > 0 ? item.slice(at + 1).trim() : '';
    if (!table || !COUNT.test(n)) {
      problems.push(`${source} "${item}" is not table=N (a whole number of rows), e.g. orders=40000000`);
      continue;
    }
    sizes[label(table)] = { rows: Number(n.replace(/_/g, '')), source };
  }
  return { sizes, problems };
}

/** Reads a stats snapshot; `source` names the flag or env var in problems. */
export function readProductionStats(
  file: string,
  source: string,
  shown = file,
): { sizes: ProductionSizes; problems: string[] } {
  const expected = `expected a JSON object {"table": {"rows": N, "bytes": N}}, as written by: ${STATS_QUERY}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message;
    return { sizes: {}, problems: [`${source} "${shown}": ${why}; ${expected}`] };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    return { sizes: {}, problems: [`${source} "${shown}" is not a JSON object; ${expected}`] };
  const sizes: ProductionSizes = {};
  const problems: string[] = [];
  const where = `${shown} (${source})`;
  for (const [table, v] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = v as { rows?: unknown; bytes?: unknown } | null;
    const rows = typeof entry?.rows === 'number' && entry.rows >= 0 ? Math.round(entry.rows) : undefined;
    const bytes = typeof entry?.bytes === 'number' && entry.bytes >= 0 ? entry.bytes : undefined;
    if (
      !entry ||
      typeof entry !== 'object' ||
      (entry.rows !== undefined && typeof entry.rows !== 'number') ||
      (entry.bytes !== undefined && typeof entry.bytes !== 'number')
    ) {
      problems.push(`${source} "${shown}": table "${table}" is ${JSON.stringify(v)}; ${expected}`);
      continue;
    }
    if (rows === undefined && bytes === undefined) continue;
    sizes[label(table)] = {
      ...(rows !== undefined ? { rows } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
      source: where,
    };
  }
  return { sizes, problems };
}
