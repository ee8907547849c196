import { closeSync, constants, lstatSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../core/process-alive.ts';
import type { Reapable } from './reaper.ts';
import { loadState } from './state.ts';

/**
 * The reaper's own process (see reaper.ts): `node reaper-process.ts <parentPid> <stateFile>`.
 * Polls the parent; when it is gone, checks that the state dir and file are its own and
 * private (state.ts), removes every resource still listed, then the state dir, and exits. If
 * a check fails it removes nothing: it may be root, and the file may be someone else's.
 */
const [parentArg, stateFile] = process.argv.slice(2);
const parent = Number(parentArg);

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The first line of `pidFile` as a pid, read without following a symlink; undefined if none. */
function readPid(pidFile: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(pidFile, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const pid = Number(readFileSync(fd, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } finally {
    closeSync(fd);
  }
}

async function reapProcess(r: Extract<Reapable, { kind: 'process' }>): Promise<void> {
  const pid = readPid(r.pidFile);
  if (pid !== undefined && processAlive(pid)) {
    // SIGQUIT: Postgres' immediate shutdown; the data is throwaway.
    process.kill(pid, 'SIGQUIT');
    for (let i = 0; i < 50 && processAlive(pid); i++) await sleep(100);
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const dir of r.dirs) rmSync(dir, { recursive: true, force: true });
}

async function reapContainer(r: Extract<Reapable, { kind: 'container' }>): Promise<void> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  // testcontainers' remove() cannot force; a running container needs dockerode's force flag.
  await client.container.dockerode.getContainer(r.id).remove({ force: true, v: true });
}

async function reapDatabases(r: Extract<Reapable, { kind: 'databases' }>): Promise<void> {
  const { Databases } = await import('../postgres/databases.ts');
  const { readServerInfo } = await import('../postgres/server-info.ts');
  const info = await readServerInfo(r.adminUrl, 5_000);
  const dbs = new Databases(r.adminUrl, { prefix: r.prefix, runId: r.runId, major: info.major });
  try {
    await dbs.dropRun();
  } finally {
    await dbs.close();
  }
}

function refuse(reason: string): void {
  // stdio is ignored when spawned by reaper.ts; the line is for a person running it by hand.
  process.stderr.write(`shipgate reaper: nothing removed for state file "${stateFile}": ${reason}\n`);
  process.exitCode = 1;
}

async function main(): Promise<void> {
  if (!stateFile || !Number.isInteger(parent) || parent <= 0) {
    return refuse('usage: reaper-process <parentPid> <absolute stateFile>');
  }
  if (!path.isAbsolute(stateFile)) return refuse('the path is not absolute');
  const dir = path.dirname(stateFile);
  while (processAlive(parent)) {
    // A clean stop removes the dir: nothing is left to guard.
    if (!exists(dir)) return;
    await sleep(200);
  }
  const loaded = loadState(stateFile, parent, process.getuid?.());
  if ('absent' in loaded) return;
  if ('problem' in loaded) return refuse(loaded.problem);
  // Servers first would make database drops fail; drop databases on still-running servers first.
  const order = { databases: 0, container: 1, process: 2 } as const;
  for (const r of [...loaded.state.resources].sort((a, b) => order[a.kind] - order[b.kind])) {
    try {
      if (r.kind === 'process') await reapProcess(r);
      else if (r.kind === 'container') await reapContainer(r);
      else await reapDatabases(r);
    } catch {
      // Best effort: the next run's sweep removes what is left, by prefix and age.
    }
  }
  // Checked above as ours and 0700, so no one else can have put anything in it since.
  rmSync(dir, { recursive: true, force: true });
}

await main();
