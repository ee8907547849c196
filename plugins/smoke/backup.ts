/**
 * Backup and restore rehearsal: `pg_dump -Fc` of a database and `pg_restore --exit-on-error`
 * into a fresh one, with the tools `pg-tools.ts` found; the smoke's own side schema is left
 * out of the dump. Compression level 1: at the default level the dump is CPU-bound, and the
 * level barely changes the restore time, which is the evidence that matters. Without
 * matching tools, a template-database copy stands in (CREATE DATABASE … TEMPLATE), and the
 * report says so: WARN when the tools were looked for (`auto`), FAIL when the configured
 * pg_dump cannot dump this server (the backup that was asked for cannot be made).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTeardown } from '../core/cleanup.ts';
import type { Databases, TestDatabase } from '../postgres/databases.ts';
import { check, round, TITLES, terminate } from './check-kit.ts';
import { SIDE_SCHEMA } from './introspect.ts';
import type { DumpTools, PgDumpError, ToolChoice } from './pg-tools.ts';
import type { CheckResult, Finding } from './types.ts';

/** A dump file where the tools can read it. */
export interface DumpFile {
  path: string;
  bytes: number | null;
  durationMs: number;
}

/** Outcome of a pg_dump or pg_restore run. */
export interface ToolRun {
  exitCode: number;
  durationMs: number;
  /** The first error lines. */
  stderr: string;
}

function connArgs(tools: DumpTools, user: string, database: string): string[] {
  return ['-h', tools.host, '-p', String(tools.port), '-U', user, '-d', database];
}

function firstLines(text: string, n = 6): string {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, n)
    .join('\n');
}

/** Where dump files go, removed by `dispose()` (and on SIGINT/SIGTERM). */
export class DumpArea {
  private readonly dir: string;
  private readonly files: string[] = [];
  private readonly unregister: () => void;
  private readonly tools: DumpTools;

  constructor(tools: DumpTools) {
    this.tools = tools;
    this.dir = tools.where === 'local' ? mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-dump-')) : tools.tmp;
    this.unregister = onTeardown('smoke dump files', () => this.dispose());
  }

  /** `pg_dump -Fc` of `database` (without the smoke's side schema). */
  async dump(adminUrl: string, database: string): Promise<{ run: ToolRun; file: DumpFile }> {
    const u = new URL(adminUrl);
    const file = path.posix.join(this.dir, `shipgate-smoke-${randomBytes(6).toString('hex')}.dump`);
    this.files.push(file);
    const args = [
      this.tools.pgDump,
      '-Fc',
      '--compress=1',
      `--exclude-schema=${SIDE_SCHEMA}`,
      '-f',
      file,
      ...connArgs(this.tools, decodeURIComponent(u.username), database),
    ];
    const env = { PGPASSWORD: decodeURIComponent(u.password) };
    const t = performance.now();
    let bytes: number | null = null;
    let r: Awaited<ReturnType<DumpTools['exec']>>;
    if (this.tools.where === 'local') {
      r = await this.tools.exec(args, env);
      if (r.exitCode === 0) bytes = statSync(file).size;
    } else {
      // One exec for the dump and its size: each Docker exec costs tens of ms.
      r = await this.tools.exec(['sh', '-c', '"$@" && stat -c %s "$0"', file, ...args], env);
      if (r.exitCode === 0) bytes = Number(r.stdout.trim().split('\n').at(-1));
    }
    const durationMs = performance.now() - t;
    return {
      run: { exitCode: r.exitCode, durationMs, stderr: firstLines(r.stderr) },
      file: { path: file, bytes, durationMs },
    };
  }

  /** Whether `restore` can reach the server of `adminUrl` (tools in the smoke's container reach only that container). */
  reaches(adminUrl: string, smokeAdminUrl: string): boolean {
    if (this.tools.where === 'local') return true;
    const a = new URL(adminUrl);
    const b = new URL(smokeAdminUrl);
    return a.host === b.host;
  }

  /**
   * `pg_restore --exit-on-error` of `file` into the (empty) `database` on `adminUrl`'s server
   * (local tools connect to that URL's host; tools in a container, to their own server).
   */
  async restore(adminUrl: string, file: DumpFile, database: string): Promise<ToolRun> {
    const u = new URL(adminUrl);
    const t = performance.now();
    const to =
      this.tools.where === 'local'
        ? { ...this.tools, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 5432) }
        : this.tools;
    const r = await this.tools.exec(
      [this.tools.pgRestore, '--exit-on-error', ...connArgs(to, decodeURIComponent(u.username), database), file.path],
      { PGPASSWORD: decodeURIComponent(u.password) },
    );
    return { exitCode: r.exitCode, durationMs: performance.now() - t, stderr: firstLines(r.stderr) };
  }

  /** Removes the dump files (and the local folder). */
  async dispose(): Promise<void> {
    this.unregister();
    if (this.tools.where === 'local') rmSync(this.dir, { recursive: true, force: true });
    else if (this.files.length) await this.tools.exec(['rm', '-f', ...this.files.splice(0)], {}).catch(() => undefined);
  }
}

/**
 * The backup step: `pg_dump -Fc` of the seeded base when there are tools of the server's
 * major; otherwise a template-database copy (which needs the source free of sessions, so the
 * caller's client is closed first and must reconnect), reported as WARN with the reason, or as
 * FAIL (`backup/pg-dump-unusable`) when the configured pg_dump is `unusable`.
 */
export async function takeBackup(opts: {
  area: DumpArea | undefined;
  tools: ToolChoice;
  server: { adminUrl: string; major: number };
  dbs: Databases;
  target: TestDatabase;
  closeClient: () => Promise<void>;
  /** Why the configured pg_dump (`pgDump`, env SHIPGATE_PG_DUMP) cannot dump this server. */
  unusable?: PgDumpError | undefined;
}): Promise<{ check: CheckResult; dump?: DumpFile; templateCopy?: TestDatabase }> {
  const { area, tools, server, dbs, target } = opts;
  const findings: Finding[] = [];
  if (area && tools.ok) {
    const { run, file } = await area.dump(server.adminUrl, target.name);
    const evidence = {
      method: 'pg_dump -Fc',
      tool: tools.detail,
      exitCode: run.exitCode,
      durationMs: round(run.durationMs),
      bytes: file.bytes,
    };
    if (run.exitCode !== 0) {
      findings.push({
        code: 'backup/pg-dump-failed',
        verdict: 'FAIL',
        message: `pg_dump -Fc of the seeded base exited ${run.exitCode}: ${run.stderr}`,
        evidence: { exitCode: run.exitCode },
      });
      return { check: check('backup', TITLES.backup, findings, evidence) };
    }
    return { check: check('backup', TITLES.backup, findings, evidence), dump: file };
  }
  const reason = tools.ok ? '' : tools.reason;
  await opts.closeClient();
  await terminate(server.adminUrl, target.name);
  const t = performance.now();
  const templateCopy = await dbs.clone(target.name, 1);
  if (opts.unusable) {
    findings.push({
      code: 'backup/pg-dump-unusable',
      verdict: 'FAIL',
      message: `No backup can be made as configured: ${opts.unusable.message} The rehearsals used a template-database copy instead.`,
      evidence: { reason: opts.unusable.message, code: opts.unusable.code },
    });
  } else {
    findings.push({
      code: 'backup/no-matching-pg-dump',
      verdict: 'WARN',
      message: `Backup fell back to a template-database copy, because there is ${reason}; the pg_dump/pg_restore rehearsal did not run (set SHIPGATE_PG_DUMP to a pg_dump ${server.major}, or use the testcontainers provider).`,
      evidence: { reason },
    });
  }
  const evidence = { method: 'template-database copy', durationMs: round(performance.now() - t), reason };
  return { check: check('backup', TITLES.backup, findings, evidence), templateCopy };
}
