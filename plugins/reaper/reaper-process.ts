import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reapable } from './reaper.ts';

/**
 * The reaper's own process (see reaper.ts): `node reaper-process.ts <parentPid> <stateFile>`.
 * Polls the parent; when it is gone, removes every resource still listed, then exits.
 */
const [parentArg, stateFile] = process.argv.slice(2);
const parent = Number(parentArg);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function reapProcess(r: Extract<Reapable, { kind: 'process' }>): Promise<void> {
  if (existsSync(r.pidFile)) {
    const pid = Number(readFileSync(r.pidFile, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      // SIGQUIT: Postgres' immediate shutdown; the data is throwaway.
      process.kill(pid, 'SIGQUIT');
      for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
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

async function main(): Promise<void> {
  if (!stateFile || !Number.isInteger(parent)) return;
  while (alive(parent)) await sleep(200);
  if (!existsSync(stateFile)) return;
  const { resources } = JSON.parse(readFileSync(stateFile, 'utf8')) as { resources: Reapable[] };
  // Servers first would make database drops fail; drop databases on still-running servers first.
  const order = { databases: 0, container: 1, process: 2 } as const;
  for (const r of [...resources].sort((a, b) => order[a.kind] - order[b.kind])) {
    try {
      if (r.kind === 'process') await reapProcess(r);
      else if (r.kind === 'container') await reapContainer(r);
      else await reapDatabases(r);
    } catch {
      // Best effort: the next run's sweep removes what is left, by prefix and age.
    }
  }
  rmSync(stateFile, { force: true });
}

await main();
