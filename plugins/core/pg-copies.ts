import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DependencyError } from './errors.ts';

/**
 * One `pg` for the app and for shipgate. shipgate hands its own `pg.Pool` to the app's Prisma
 * factory (rollback isolation), and `@prisma/adapter-pg` checks `instanceof pg.Pool`: with two
 * copies that check fails, and Prisma reports a misleading "Can't reach database server"
 * (P1001). `pg` is a peer dependency, so npm and pnpm installs share one copy; a folder link
 * (`npm i -D ../shipgate`) or a pinned second version does not.
 */

export interface PgCopies {
  /** `pg` as the project at `root` resolves it, if it has one. */
  project?: string;
  /** `pg` as shipgate resolves it. */
  shipgate?: string;
}

function resolvePg(from: string): string | undefined {
  try {
    return path.dirname(realpathSync(createRequire(from).resolve('pg/package.json')));
  } catch {
    return undefined;
  }
}

/** Where the project at `root` and shipgate find `pg`. */
export function pgCopies(root: string): PgCopies {
  const copies: PgCopies = {};
  const project = resolvePg(path.join(root, 'package.json'));
  const own = resolvePg(import.meta.url);
  if (project) copies.project = project;
  if (own) copies.shipgate = own;
  return copies;
}

/** The problem when the project and shipgate load different copies of `pg`, else undefined. */
export function pgCopiesProblem(root: string): DependencyError | undefined {
  const { project, shipgate } = pgCopies(root);
  if (!project || !shipgate || project === shipgate) return undefined;
  return new DependencyError(
    'SHIPGATE_PG_COPIES',
    `The project and shipgate load two copies of "pg": ${project} and ${shipgate}. A pool made by one is not an instance of the other's pg.Pool, so @prisma/adapter-pg refuses shipgate's pool in rollback isolation.`,
    {
      hint: 'Install shipgate from its package (npm i -D shipgate, pnpm add -D shipgate) so it shares the project\'s pg, or add resolve: { dedupe: ["pg"] } to vitest.config.',
    },
  );
}
