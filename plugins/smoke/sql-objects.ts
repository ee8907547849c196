/**
 * Objects Prisma doesn't model: `schema.prisma` cannot describe them, so `prisma migrate diff`
 * (the drift check) never compares them, and a reviewer only learns of them from the SQL.
 * Listed from the catalogs, in the app's schemas (not pg_catalog, information_schema, pg_toast,
 * temp schemas or the smoke's own), leaving out what an extension owns (`pg_depend` deptype
 * `e`: pg_trgm's functions are the extension's, not the app's):
 * - functions, procedures and aggregates (`pg_proc`);
 * - triggers (`pg_trigger`, not `tgisinternal`: foreign keys' own triggers are Postgres' bookkeeping);
 * - materialized views, row-level security policies and rules (other than a view's `_RETURN`).
 */
import type pg from 'pg';
import { ident, SIDE_SCHEMA } from './introspect.ts';

/** One object Prisma doesn't model. */
export interface UnmodeledObject {
  kind: 'function' | 'procedure' | 'aggregate' | 'trigger' | 'materialized view' | 'policy' | 'rule';
  /** Schema-qualified outside public. */
  name: string;
  /** A routine's argument types, e.g. `integer, text`. */
  args?: string;
  /** The table a trigger, policy or rule belongs to. */
  table?: string;
}

const APP_SCHEMA = (alias: string) =>
  `${alias}.nspname NOT IN ('pg_catalog', 'information_schema', '${SIDE_SCHEMA}') AND ${alias}.nspname NOT LIKE 'pg\\_%'`;
const notExtension = (classid: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classid}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
const label = (ns: string, name: string) => `CASE WHEN ${ns} = 'public' THEN ${name} ELSE ${ns} || '.' || ${name} END`;

/** Every object Prisma doesn't model in the database `client` is connected to, sorted by kind and name. */
export async function unmodeledObjects(client: pg.Client | pg.PoolClient): Promise<UnmodeledObject[]> {
  const { rows } = await client.query<UnmodeledObject & { table: string | null; args: string | null }>(
    `SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END AS kind,
            ${label('n.nspname', 'p.proname')} AS name, pg_get_function_identity_arguments(p.oid) AS args, NULL AS table
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE ${APP_SCHEMA('n')} AND ${notExtension('pg_proc', 'p.oid')}
     UNION ALL
     SELECT 'trigger', tg.tgname, NULL, ${label('n.nspname', 'c.relname')}
       FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT tg.tgisinternal AND ${APP_SCHEMA('n')} AND ${notExtension('pg_class', 'c.oid')}
     UNION ALL
     SELECT 'materialized view', ${label('n.nspname', 'c.relname')}, NULL, NULL
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'm' AND ${APP_SCHEMA('n')} AND ${notExtension('pg_class', 'c.oid')}
     UNION ALL
     SELECT 'policy', pol.polname, NULL, ${label('n.nspname', 'c.relname')}
       FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${APP_SCHEMA('n')}
     UNION ALL
     SELECT 'rule', r.rulename, NULL, ${label('n.nspname', 'c.relname')}
       FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE r.rulename <> '_RETURN' AND ${APP_SCHEMA('n')} AND ${notExtension('pg_rewrite', 'r.oid')}
     ORDER BY 1, 2, 3, 4`,
  );
  return rows.map((r) => ({
    kind: r.kind,
    name: r.name,
    ...(r.args !== null ? { args: r.args } : {}),
    ...(r.table !== null ? { table: r.table } : {}),
  }));
}

/** One line naming each object once: `function "order_total"(integer), trigger "orders_keep_total" on "orders"`. */
export function describeUnmodeled(objects: readonly UnmodeledObject[]): string {
  if (objects.length === 0) return 'none';
  return objects
    .map(
      (o) =>
        `${o.kind} ${ident(o.name)}${o.args !== undefined ? `(${o.args})` : ''}${o.table ? ` on ${ident(o.table)}` : ''}`,
    )
    .join(', ');
}

/** The objects in `after` that are not in `before` (what the head migrations added). */
export function addedObjects(before: readonly UnmodeledObject[], after: readonly UnmodeledObject[]): UnmodeledObject[] {
  const key = (o: UnmodeledObject) => [o.kind, o.name, o.args ?? '', o.table ?? ''].join('\u001f');
  const had = new Set(before.map(key));
  return after.filter((o) => !had.has(key(o)));
}
