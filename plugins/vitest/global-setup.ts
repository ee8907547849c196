import type { TestProject } from 'vitest/node';
import type { ResolvedOptions } from '../core/config.ts';
import { type SessionRuntime, startSession } from '../session.ts';
import { OPTIONS_KEY } from './plugin.ts';

declare module 'vitest' {
  interface ProvidedContext {
    'shipgate:options': ResolvedOptions;
    shipgate: SessionRuntime;
  }
}

/** Vitest globalSetup: one Postgres session per run, torn down after the last file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const options = project.getProvidedContext()[OPTIONS_KEY];
  const workers = Math.max(1, Number(project.vitest.config.maxWorkers) || 1);
  const session = await startSession(options, { workers });
  project.provide('shipgate', session.runtime);
  const { serverStartUs, templateUs, templateBuilt } = session.timings;
  process.stderr.write(
    `shipgate: postgres ${session.server.version} ready in ${(serverStartUs / 1000).toFixed(0)} ms; template ${session.runtime.template} ${templateBuilt ? 'built' : 'reused'} in ${(templateUs / 1000).toFixed(0)} ms\n`,
  );
  return () => session.stop();
}
