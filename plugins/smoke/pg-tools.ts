/**
 * Which `pg_dump`/`pg_restore` the smoke uses. They must be of the server's major version:
 * - testcontainers: the server's own binaries, run inside its container (Docker exec);
 * - otherwise the machine's own, but only when their major matches the server's;
 * - none of those: no dump tool, and the caller falls back to a template-database copy and
 *   says so in the report.
 * An explicitly configured pg_dump (`pgDump`, env `SHIPGATE_PG_DUMP`) of another major is an error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ShipgateError } from '../core/errors.ts';

/** A pg_dump of the wrong version, or one that does not run. Code `SHIPGATE_SMOKE_PG_DUMP`. */
export class PgDumpError extends ShipgateError {}

/** Runs a command where the dump tools live; resolves with exit code and output. */
export type Exec = (
  cmd: string[],
  env: Record<string, string>,
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** A usable pair of tools. */
export interface DumpTools {
  where: 'container' | 'local';
  version: string;
  pgDump: string;
  pgRestore: string;
  /** Host and port the tools reach the server on (inside the container: its own 5432). */
  host: string;
  port: number;
  /** Folder for dump files (inside the container for `container`). */
  tmp: string;
  exec: Exec;
}

/** Outcome of looking for tools. */
export type ToolChoice = { ok: true; tools: DumpTools; detail: string } | { ok: false; reason: string };

const containerVersions = new Map<string, { exitCode: number; stdout: string; stderr: string }>();

const majorOf = (versionLine: string) =>
  Number(/(\d+)(?:\.\d+)?/.exec(versionLine.replace(/^[^0-9]*/, ''))?.[1] ?? Number.NaN);

const localExec: Exec = (cmd, env) =>
  new Promise((resolve) => {
    const child = spawn(cmd[0] as string, cmd.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) => resolve({ exitCode: 127, stdout, stderr: stderr + err.message }));
    child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout, stderr }));
  });

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

function localVersion(bin: string): string | undefined {
  const run = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

async function containerExec(containerId: string): Promise<Exec> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(containerId);
  return async (cmd, env) => {
    const r = await client.container.exec(container, cmd, { env, user: 'postgres' });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };
}

/** Finds dump tools of `major`: in the container, else on the machine, else none (with the reason). */
export async function findDumpTools(opts: {
  major: number;
  serverVersion: string;
  containerId: string | undefined;
  adminUrl: string;
  pgDump: string;
}): Promise<ToolChoice> {
  const u = new URL(opts.adminUrl);
  if (opts.pgDump !== 'auto') {
    const version = localVersion(opts.pgDump);
    if (!version) {
      throw new PgDumpError(
        'SHIPGATE_SMOKE_PG_DUMP',
        `pg_dump "${opts.pgDump}" does not run (\`${opts.pgDump} --version\` failed).`,
        {
          hint: 'Set SHIPGATE_PG_DUMP (--pg-dump) to a pg_dump binary, or to "auto".',
        },
      );
    }
    if (majorOf(version) !== opts.major) {
      throw new PgDumpError(
        'SHIPGATE_SMOKE_PG_DUMP',
        `pg_dump "${opts.pgDump}" is ${version.replace(/^pg_dump \(PostgreSQL\) /, '')}, but the server is ${opts.serverVersion}: the backup must be made with pg_dump ${opts.major}.`,
        {
          hint: `Set SHIPGATE_PG_DUMP (--pg-dump) to a pg_dump ${opts.major}, or to "auto" to fall back to a template-database snapshot.`,
        },
      );
    }
    const restore = path.join(path.dirname(opts.pgDump), 'pg_restore');
    return {
      ok: true,
      detail: `${version} at ${opts.pgDump} (configured)`,
      tools: {
        where: 'local',
        version,
        pgDump: opts.pgDump,
        pgRestore: restore,
        host: u.hostname,
        port: Number(u.port || 5432),
        tmp: '',
        exec: localExec,
      },
    };
  }
  const reasons: string[] = [];
  if (opts.containerId) {
    try {
      const exec = await containerExec(opts.containerId);
      // The container's pg_dump does not change while it runs: ask once per container.
      const r = containerVersions.get(opts.containerId) ?? (await exec(['pg_dump', '--version'], {}));
      if (r.exitCode === 0) containerVersions.set(opts.containerId, r);
      const version = r.stdout.trim();
      if (r.exitCode === 0 && majorOf(version) === opts.major) {
        return {
          ok: true,
          detail: `${version} inside container ${opts.containerId.slice(0, 12)}`,
          tools: {
            where: 'container',
            version,
            pgDump: 'pg_dump',
            pgRestore: 'pg_restore',
            host: '127.0.0.1',
            port: 5432,
            tmp: '/tmp',
            exec,
          },
        };
      }
      reasons.push(
        `the container's pg_dump ${r.exitCode === 0 ? `is ${version}` : `does not run (${r.stderr.trim() || r.exitCode})`}`,
      );
    } catch (err) {
      reasons.push(`cannot exec in container ${opts.containerId.slice(0, 12)} (${(err as Error).message})`);
    }
  }
  const local = which('pg_dump');
  if (local) {
    const version = localVersion(local) ?? 'unknown';
    if (majorOf(version) === opts.major) {
      return {
        ok: true,
        detail: `${version} at ${local}`,
        tools: {
          where: 'local',
          version,
          pgDump: local,
          pgRestore: path.join(path.dirname(local), 'pg_restore'),
          host: u.hostname,
          port: Number(u.port || 5432),
          tmp: '',
          exec: localExec,
        },
      };
    }
    reasons.push(`the machine's pg_dump is ${version.replace(/^pg_dump \(PostgreSQL\) /, '')} (${local})`);
  } else {
    reasons.push('the machine has no pg_dump on PATH');
  }
  return { ok: false, reason: `no pg_dump ${opts.major} for server ${opts.serverVersion}: ${reasons.join('; ')}` };
}
