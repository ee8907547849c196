/**
 * Where the restore rehearsals restore (`restoreTarget`, env SHIPGATE_SMOKE_RESTORE_TARGET):
 * - `same`: a new database on the smoke's server (the default, and the fastest);
 * - `server`: a second, fresh server from the same provider (a cluster with nothing but the
 *   declared roles, as a restore into a new production cluster has), stopped at the end;
 * - a superuser URL: a server set up like production; shipgate creates only its own marked
 *   databases there (dropped at the end, swept if the run dies) and never creates roles on it.
 */
import { redactUrl } from '../core/errors.ts';
import { Databases } from '../postgres/databases.ts';
import { startPostgres } from '../postgres/index.ts';
import { readServerInfo } from '../postgres/server-info.ts';
import { registerReapable } from '../reaper/reaper.ts';
import type { DumpArea } from './backup.ts';
import { type SmokeContext, seededOf, serverOf } from './checks/context.ts';
import { ensureRoles, serverOffers } from './dependencies.ts';

/** The server the rehearsals restore into. */
export interface RestoreTarget {
  kind: 'same' | 'server' | 'url';
  /** For the report: `the smoke's server`, `a second fresh server (Postgres 15.18)`, the redacted URL. */
  label: string;
  adminUrl: string;
  major: number;
  dbs: Databases;
  /** The roles and extensions it has (`server` and `url` targets). */
  offers?: { roles: Set<string>; extensions: Set<string> };
}

const targets = new WeakMap<SmokeContext, Promise<RestoreTarget>>();

/** The run's restore target, prepared once (the restores and the dependencies check share it). */
export function restoreTarget(ctx: SmokeContext): Promise<RestoreTarget> {
  let t = targets.get(ctx);
  if (!t) {
    t = prepare(ctx);
    targets.set(ctx, t);
  }
  return t;
}

/** The smoke's own server as the target. */
function smokeServer(ctx: SmokeContext): RestoreTarget {
  const server = serverOf(ctx);
  return {
    kind: 'same',
    label: "the smoke's server",
    adminUrl: server.adminUrl,
    major: server.major,
    dbs: seededOf(ctx).dbs,
  };
}

async function prepare(ctx: SmokeContext): Promise<RestoreTarget> {
  const { opts } = ctx;
  const seeded = seededOf(ctx);
  if (opts.restoreTarget === 'same') return smokeServer(ctx);
  let adminUrl: string;
  let major: number;
  let label: string;
  let kind: RestoreTarget['kind'];
  if (opts.restoreTarget === 'server') {
    const started = await ctx.step('restore-target', () => startPostgres({ log: opts.log }));
    ctx.onCleanup(() => started.stop());
    adminUrl = started.adminUrl;
    major = started.major;
    kind = 'server';
    label = `a second fresh ${started.provider} server (Postgres ${started.version})`;
    // Production has its roles: a fresh cluster gets the declared ones, and nothing else.
    const dropRoles = await ensureRoles(adminUrl, opts.restoreRoles ?? [], seeded.dbs.runId, opts.log);
    ctx.onCleanup(dropRoles);
  } else {
    adminUrl = opts.restoreTarget;
    const info = await readServerInfo(adminUrl);
    major = info.major;
    kind = 'url';
    label = `${redactUrl(adminUrl)} (Postgres ${info.version})`;
  }
  const dbs = new Databases(adminUrl, { prefix: opts.prefix, major });
  const unreap = registerReapable({ kind: 'databases', adminUrl, prefix: dbs.prefix, runId: dbs.runId });
  ctx.onCleanup(async () => {
    await dbs.dropRun().catch(() => undefined);
    await dbs.close();
    unreap();
  });
  return { kind, label, adminUrl, major, dbs, offers: await serverOffers(adminUrl) };
}

/**
 * The target the rehearsals can use with `area`'s tools: the configured one, or the smoke's own
 * server with the reason when the tools cannot reach it (a template copy cannot cross servers;
 * tools inside the smoke's container reach only that container).
 */
export async function reachableTarget(
  ctx: SmokeContext,
  area: DumpArea | undefined,
): Promise<{ target: RestoreTarget; fallback?: string }> {
  const target = await restoreTarget(ctx);
  if (target.kind === 'same') return { target };
  const server = serverOf(ctx);
  const why = !area
    ? `there is no pg_dump ${server.major} to make a dump to restore there (a template copy cannot cross servers)`
    : !area.reaches(target.adminUrl, server.adminUrl)
      ? `the dump tools run inside the smoke's container and cannot reach it (install postgresql-client ${server.major} on this machine)`
      : undefined;
  if (!why) return { target };
  return { target: smokeServer(ctx), fallback: `Restored on the smoke's server instead of ${target.label}: ${why}.` };
}
