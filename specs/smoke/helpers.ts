/**
 * Helpers for the migration-smoke specs: a head folder made of the shop fixture plus one
 * case's migration folders, a smoke run on the run's server, and lookups into the result.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { expect, onTestFinished } from 'vitest';
import type { SessionRuntime } from '../../plugins/session.ts';
import { migrationSmoke, type SmokeOptions } from '../../plugins/smoke/index.ts';
import type { CheckId, CheckResult, Finding, SmokeResult } from '../../plugins/smoke/types.ts';

/** The base: a small shop (users, orders, products, order_items; an enum, a generated column, a CHECK). */
export const SHOP = path.join(import.meta.dirname, 'fixtures', 'shop', 'migrations');
const CASES = path.join(import.meta.dirname, 'fixtures', 'cases');

/** A temp head folder: the shop's migrations with each case's folders added (same name: replaced). */
export function headWith(...cases: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-head-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(SHOP, dir, { recursive: true });
  for (const c of cases) {
    for (const folder of readdirSync(path.join(CASES, c))) {
      rmSync(path.join(dir, folder), { recursive: true, force: true });
      cpSync(path.join(CASES, c, folder), path.join(dir, folder), { recursive: true });
    }
  }
  return dir;
}

/** Runs the smoke on the run's server (pg_dump inside its container under testcontainers). */
export function smokeOn(
  shipgate: SessionRuntime,
  prefix: string,
  head: string,
  extra: Partial<SmokeOptions> = {},
): Promise<SmokeResult> {
  return migrationSmoke({
    base: SHOP,
    head,
    adminUrl: shipgate.adminUrl,
    ...(shipgate.containerId ? { containerId: shipgate.containerId } : {}),
    schema: false,
    prefix,
    ...extra,
  });
}

/** The check `id`. */
export function checkOf(result: SmokeResult, id: CheckId): CheckResult {
  const c = result.checks.find((x) => x.id === id);
  expect(c, `check ${id}`).toBeDefined();
  return c as CheckResult;
}

/** Findings with `code` (any check). */
export function findings(result: SmokeResult, code: string): Finding[] {
  return result.checks.flatMap((c) => c.findings).filter((f) => f.code === code);
}

/** Findings that are not SAFE, as `code:target` strings, for exact assertions. */
export function problems(result: SmokeResult): string[] {
  return result.checks
    .flatMap((c) => c.findings)
    .filter((f) => f.verdict !== 'SAFE')
    .map((f) => `${f.verdict} ${f.code}${f.target ? `:${f.target}` : ''}`)
    .sort();
}

/** Whether pg_dump of the server's major can run: in the container, or on this machine. */
export function dumpToolsFor(shipgate: SessionRuntime): boolean {
  if (shipgate.containerId) return true;
  const run = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' });
  return run.status === 0 && Number(/(\d+)\./.exec(run.stdout)?.[1]) === shipgate.major;
}

/** Databases with `prefix` still on the server (a smoke must leave none). */
export async function leftovers(adminUrl: string, prefix: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${prefix}\\_%`,
    ]);
    return rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}
