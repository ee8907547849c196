import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FullConfig } from '@playwright/test';
import { runTeardowns } from '../core/cleanup.ts';
import { resolveOptions } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { reportDir } from '../report/records.ts';
import { startSession } from '../session.ts';
import { playwrightOptionProblems, type ShipgatePlaywrightOptions } from './options.ts';
import { RUNTIME_ENV } from './worker.ts';

/** The folder relative paths in playwright.config.ts resolve against. */
export function configRoot(config: Pick<FullConfig, 'configFile' | 'rootDir'>): string {
  return config.configFile ? path.dirname(config.configFile) : config.rootDir;
}

/**
 * Playwright globalSetup: validates every project's shipgate options (all problems at once),
 * starts one Postgres and builds (or reuses) the template with the same machinery as Vitest,
 * and hands workers the session through {@link RUNTIME_ENV}. The returned function is
 * Playwright's global teardown: it drops the run's databases and stops the server.
 */
export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  const root = configRoot(config);
  const problems: string[] = [];
  const projects = config.projects.map((p) => ({ name: p.name, use: p.use as ShipgatePlaywrightOptions }));
  for (const p of projects) problems.push(...playwrightOptionProblems(p.use, root, projects.length > 1 ? p.name : ''));
  const first = projects[0]?.use.shipgate ?? {};
  for (const p of projects.slice(1)) {
    if (JSON.stringify(p.use.shipgate ?? {}) !== JSON.stringify(first)) {
      problems.push(
        `project "${p.name}" sets different use.shipgate options; one run has one database session, so set them once at the top level`,
      );
    }
  }
  let options: ReturnType<typeof resolveOptions> | undefined;
  try {
    options = resolveOptions(first, root);
  } catch (err) {
    if (err instanceof ConfigError) problems.unshift(...err.problems.map((p) => `shipgate.${p}`));
    else throw err;
  }
  if (problems.length || !options) throw new ConfigError(problems);

  const session = await startSession(options, { workers: Math.max(1, config.workers) });
  process.env[RUNTIME_ENV] = JSON.stringify(session.runtime);
  const { serverStartUs, templateUs, templateBuilt } = session.timings;
  process.stderr.write(
    `shipgate: postgres ${session.server.version} ready in ${(serverStartUs / 1000).toFixed(0)} ms; template ${session.runtime.template} ${templateBuilt ? 'built' : 'reused'} in ${(templateUs / 1000).toFixed(0)} ms\n`,
  );
  const dir = path.join(reportDir(), 'playwright');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, `session-${session.runtime.runId}.json`),
    `${JSON.stringify({ runId: session.runtime.runId, provider: session.runtime.provider, workers: config.workers, ...session.timings }, null, 2)}\n`,
  );
  return async () => {
    delete process.env[RUNTIME_ENV];
    await session.stop();
    // On Ctrl-C the signal handler (core/cleanup.ts) is already stopping the session, and
    // session.stop() returns at once; Playwright exits right after this teardown, so wait for
    // that stop to finish, or the server (a container) would outlive the run.
    await runTeardowns();
  };
}
