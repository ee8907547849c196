import { spawn } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ownModulePath } from '../core/own-files.ts';
import { envValue } from '../core/settings.ts';

/**
 * A local Ryuk. Test runners exit hard on signals (Vitest calls process.exit() 1 ms after
 * SIGTERM), and a SIGKILL runs no handler at all, so async teardown alone cannot promise that
 * servers, containers and databases go away. The first registration spawns a detached watcher
 * process; it polls this process's pid and, once it is gone, reaps whatever is still listed in
 * the state file. Graceful teardown unregisters resources, so the reaper then has nothing to do.
 */

/** A resource the reaper removes if this process dies without removing it itself. */
export type Reapable =
  | { kind: 'process'; pidFile: string; dirs: string[] }
  | { kind: 'container'; id: string }
  | { kind: 'databases'; adminUrl: string; prefix: string; runId: string };

const stateFile = path.join(tmpdir(), `shipgate-reaper-${process.pid}.json`);
const entries = new Map<number, Reapable>();
let nextId = 1;
let spawned = false;

function writeState(): void {
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify({ parent: process.pid, resources: [...entries.values()] }));
  renameSync(tmp, stateFile);
}

function ensureReaper(): void {
  if (spawned || envValue('SHIPGATE_REAPER') === '0') return;
  spawned = true;
  const script = ownModulePath('./reaper-process.ts', import.meta.url);
  // detached: its own process group, so the Ctrl-C that stops the runner does not stop it.
  const child = spawn(process.execPath, [script, String(process.pid), stateFile], { detached: true, stdio: 'ignore' });
  child.unref();
}

/** Lists `resource` for reaping; returns a function that unlists it (call after a clean stop). */
export function registerReapable(resource: Reapable): () => void {
  const id = nextId++;
  entries.set(id, resource);
  writeState();
  ensureReaper();
  return () => {
    if (!entries.delete(id)) return;
    if (entries.size === 0) rmSync(stateFile, { force: true });
    else writeState();
  };
}
