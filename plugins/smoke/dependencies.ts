/**
 * Cluster-level dependencies of a migrated database: the roles its objects are owned by or
 * granted to (owners, ACLs, policies, default privileges) and the extensions installed in it.
 * pg_dump carries neither roles nor extension binaries, so a database restored elsewhere, or a
 * deploy to production, works only where these exist. The smoke compares them with what the
 * restore target has: production's declared roles and extensions (`--restore-roles`,
 * `--restore-extensions`), or a real server's catalog (`--restore-target <url>`).
 *
 * Declared roles are created on the smoke's own servers before the base applies (a migration
 * that grants to them would fail otherwise), marked with a comment, and dropped at the end;
 * a role that already exists is left alone.
 */
import type pg from 'pg';
import { describeError } from '../core/errors.ts';
import { connect } from './check-kit.ts';
import { escapeRegExp, ident, SIDE_SCHEMA } from './introspect.ts';

/** A role or extension the database needs, with where it is used. */
export interface Dependency {
  kind: 'role' | 'extension';
  name: string;
  /** Up to 3 uses, e.g. `owner of table public.orders`, `SELECT on table public.orders`. */
  uses: string[];
}

const APP = (ns: string) =>
  `${ns} NOT IN ('pg_catalog', 'information_schema', '${SIDE_SCHEMA}') AND ${ns} NOT LIKE 'pg\\_%'`;

// Every role an object of the app's schemas names: owners, grantees, policy roles, default ACLs.
// PUBLIC (oid 0), the predefined pg_* roles (every cluster has them) and the connected (migrating)
// role are left out: the latter runs the deploy.
const ROLE_USES = `
WITH uses(role, what) AS (
  SELECT c.relowner, 'owner of ' || CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' ELSE 'relation' END || ' ' || n.nspname || '.' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${APP('n.nspname')} AND c.relkind <> 'i'
  UNION ALL
  SELECT a.grantee, a.privilege_type || ' on ' || n.nspname || '.' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a WHERE ${APP('n.nspname')}
  UNION ALL
  SELECT n.nspowner, 'owner of schema ' || n.nspname FROM pg_namespace n WHERE ${APP('n.nspname')}
  UNION ALL
  SELECT a.grantee, a.privilege_type || ' on schema ' || n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a WHERE ${APP('n.nspname')}
  UNION ALL
  SELECT p.proowner, 'owner of function ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${APP('n.nspname')} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT a.grantee, a.privilege_type || ' on function ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a
    WHERE ${APP('n.nspname')}
  UNION ALL
  SELECT t.typowner, 'owner of type ' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE ${APP('n.nspname')} AND t.typtype IN ('e', 'd', 'c') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  UNION ALL
  SELECT r, 'policy ' || pol.polname || ' on ' || c.relname FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid, unnest(pol.polroles) r
  UNION ALL
  SELECT d.defaclrole, 'default privileges' FROM pg_default_acl d
  UNION ALL
  SELECT a.grantee, 'default ' || a.privilege_type || ' privilege' FROM pg_default_acl d, aclexplode(d.defaclacl) a
)
SELECT r.rolname AS name, (array_agg(DISTINCT u.what))[1:3] AS uses
  FROM uses u JOIN pg_roles r ON r.oid = u.role
 WHERE u.role <> 0 AND r.rolname <> current_user AND r.rolname NOT LIKE 'pg\\_%'
 GROUP BY r.rolname ORDER BY r.rolname`;

/** The roles and extensions the database `client` is connected to depends on, sorted. */
export async function listDependencies(client: pg.Client): Promise<Dependency[]> {
  const roles = await client.query<{ name: string; uses: string[] }>(ROLE_USES);
  const exts = await client.query<{ name: string; version: string }>(
    "SELECT extname AS name, extversion AS version FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname",
  );
  return [
    ...roles.rows.map((r) => ({ kind: 'role' as const, name: r.name, uses: r.uses })),
    ...exts.rows.map((e) => ({ kind: 'extension' as const, name: e.name, uses: [`installed, version ${e.version}`] })),
  ];
}

/** What a server offers: its roles and the extensions it can install. */
export async function serverOffers(adminUrl: string): Promise<{ roles: Set<string>; extensions: Set<string> }> {
  const c = await connect(adminUrl);
  try {
    const roles = await c.query<{ n: string }>('SELECT rolname AS n FROM pg_roles');
    const exts = await c.query<{ n: string }>('SELECT name AS n FROM pg_available_extensions');
    return { roles: new Set(roles.rows.map((r) => r.n)), extensions: new Set(exts.rows.map((r) => r.n)) };
  } finally {
    await c.end().catch(() => {});
  }
}

const ROLE_MARK = 'shipgate-role-v1';

/**
 * Creates the declared `roles` that `adminUrl`'s server lacks (NOLOGIN, marked with a comment
 * naming `runId`) and returns a function that drops exactly those again. Existing roles are
 * never altered.
 */
export async function ensureRoles(
  adminUrl: string,
  roles: readonly string[],
  runId: string,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  if (roles.length === 0) return async () => {};
  const c = await connect(adminUrl);
  const created: string[] = [];
  try {
    const { rows } = await c.query<{ n: string }>('SELECT rolname AS n FROM pg_roles WHERE rolname = ANY($1)', [roles]);
    const present = new Set(rows.map((r) => r.n));
    for (const role of roles) {
      if (present.has(role)) continue;
      await c.query(`CREATE ROLE ${ident(role)} NOLOGIN`);
      created.push(role);
      const mark = JSON.stringify({ shipgate: ROLE_MARK, run: runId });
      await c.query(`COMMENT ON ROLE ${ident(role)} IS '${mark.replace(/'/g, "''")}'`);
    }
  } finally {
    await c.end().catch(() => {});
  }
  if (created.length) log(`shipgate smoke: created declared role(s) ${created.join(', ')} on the smoke's server`);
  return async () => {
    if (created.length === 0) return;
    const d = await connect(adminUrl);
    try {
      for (const role of created.splice(0)) {
        // Only a role this run created and marked; DROP OWNED goes first in every database it still reaches.
        const still = await d.query<{ c: string | null }>(
          "SELECT shobj_description(oid, 'pg_authid') AS c FROM pg_roles WHERE rolname = $1",
          [role],
        );
        const comment = still.rows[0]?.c;
        if (!comment?.includes(ROLE_MARK) || !comment.includes(runId)) continue;
        await d.query(`DROP ROLE ${ident(role)}`).catch((err: unknown) => {
          log(`shipgate smoke: could not drop the declared role "${role}" it created: ${describeError(err)}`);
        });
      }
    } finally {
      await d.end().catch(() => {});
    }
  };
}

/** Whether `sql` names `name` as an identifier (quoted, or bare on word boundaries). */
export function sqlNames(sql: string, name: string): boolean {
  const esc = escapeRegExp(name);
  return new RegExp(`"${esc}"|(^|[^A-Za-z0-9_$"])${esc}($|[^A-Za-z0-9_$"])`, 'i').test(sql);
}

/** Roles a migration creates (`CREATE ROLE` / `CREATE USER`): cluster-level, never in a database dump. */
export function rolesCreatedIn(sql: string): string[] {
  const out: string[] = [];
  for (const m of sql.matchAll(
    /\bCREATE\s+(?:ROLE|USER|GROUP)\s+(?:IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/gi,
  )) {
    const raw = m[1] as string;
    out.push(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase());
  }
  return out;
}
