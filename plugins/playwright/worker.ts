import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, DatabaseError, describeError, redactUrl, ShipgateError } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';
import { Databases, type TestDatabase } from '../postgres/databases.ts';
import { announceKept, reportDir } from '../report/index.ts';
import type { SessionRuntime } from '../session.ts';
import { startAppInProcess } from './app-in-process.ts';
import { startAppProcess } from './app-process.ts';
import { type AppConfig, type AppContext, AppServerError, appConfigProblems, type StartedApp } from './app-server.ts';
import { ServerLog } from './server-log.ts';

/**
 * One Playwright worker's resources, framework-free: a clone of the run's template and an app
 * server wired to it. Workers never share a database. The setup time (clone plus app start) is
 * written to the report folder, where `pnpm bench:e2e` reads it.
 */

/** Env var through which globalSetup hands workers the session (plain JSON). */
export const RUNTIME_ENV = 'SHIPGATE_PLAYWRIGHT_RUNTIME';

/** The session globalSetup started, read from {@link RUNTIME_ENV}; a clear error when there is none. */
export function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env): SessionRuntime {
  const json = envValue(RUNTIME_ENV, env);
  if (!json) {
    throw new ShipgateError(
      'SHIPGATE_NO_SESSION',
      `No shipgate session for this Playwright run (${RUNTIME_ENV} is not set).`,
      {
        hint: "Add globalSetup: 'shipgate/playwright/global-setup' (plugins/playwright/global-setup.ts) to playwright.config.ts.",
      },
    );
  }
  return JSON.parse(json) as SessionRuntime;
}

/** Setup timings of one worker, in microseconds. */
export interface WorkerTimings {
  cloneUs: number;
  appStartUs: number;
  /** Clone plus app start, as the worker waited for them. */
  setupUs: number;
}

/** What `startWorker` writes per worker into `<report>/playwright/workers/`. */
export interface WorkerRecord extends WorkerTimings {
  runId: string;
  workerIndex: number;
  parallelIndex: number;
  pid: number;
  database: string;
  appMode: StartedApp['mode'];
  appUrl: string;
  /** The server process, in process mode. */
  appPid?: number;
  serverLog: string;
  startedAt: string;
  /** Per-test reset times (µs), added when the worker stops. */
  resetUs?: number[];
}

export interface WorkerOptions {
  runtime: SessionRuntime;
  app: AppConfig;
  /** Folder relative paths in `app` resolve against (the Playwright config's folder). */
  root: string;
  workerIndex: number;
  parallelIndex: number;
  /** Where server logs and worker records go. Default `<report dir>/playwright` (`SHIPGATE_REPORT_DIR`). */
  outDir?: string;
}

export interface ShipgateWorker extends AsyncDisposable {
  database: TestDatabase;
  app: StartedApp;
  timings: WorkerTimings;
  /** Set when one of the worker's tests failed; with keepOnFailure the database is kept. */
  failed: boolean;
  /** Empties every table except `_prisma_migrations` (TRUNCATE … CASCADE); returns microseconds. */
  reset(): Promise<number>;
  /** Stops the app, then drops the database (or keeps it, see `failed`). Returns the kept URL, if any. */
  stop(): Promise<string | undefined>;
}

/** Starts the app the config describes: `{ command }` in a process (default), `{ factory }` in this one. */
export function startApp(config: AppConfig, ctx: AppContext): Promise<StartedApp> {
  return 'factory' in config ? startAppInProcess(config, ctx) : startAppProcess(config, ctx);
}

/** Clones the template under `name` (marked as the run's, as `Databases.clone` does), with the run's context on failure. */
async function cloneAs(databases: Databases, runtime: SessionRuntime, name: string): Promise<void> {
  try {
    await databases.cloneNamed(runtime.template, name);
  } catch (err) {
    throw new DatabaseError(
      'SHIPGATE_DB_CLONE',
      `Could not clone template "${runtime.template}" into "${name}" on ${redactUrl(runtime.adminUrl)}: ${describeError(err)}.`,
      { cause: err, hint: "Is the run's Postgres still up? See the globalSetup output above." },
    );
  }
}

/** Clones the template, starts the app on it, records the timings. Nothing is left behind on failure. */
export async function startWorker(options: WorkerOptions): Promise<ShipgateWorker> {
  const { runtime, app: appConfig } = options;
  const problems = appConfigProblems(appConfig);
  if (appConfig === undefined) problems.push('app is not set: give use.app = { command } or { factory }');
  if (problems.length) throw new ConfigError(problems);

  const databases = new Databases(runtime.adminUrl, {
    prefix: runtime.prefix,
    runId: runtime.runId,
    major: runtime.major,
  });
  const dir = options.outDir ?? path.join(reportDir(), 'playwright');
  const tag = `${runtime.runId}-w${options.workerIndex}-${process.pid}`;
  const t0 = performance.now();
  // The app boots (a Node process loading its modules takes far longer than a clone) while
  // Postgres copies the template: the name is chosen up front, and the app reaches the database
  // only at its health check, which waits for the clone.
  const name = `${runtime.prefix}_t_${Math.floor(Date.now() / 1000).toString(36)}_${runtime.runId}_${process.pid.toString(36)}_w${options.workerIndex.toString(36)}`;
  let cloneUs = 0;
  let clonedAt = Number.POSITIVE_INFINITY;
  const cloned = cloneAs(databases, runtime, name).then(() => {
    clonedAt = performance.now();
    cloneUs = Math.round((clonedAt - t0) * 1000);
  });
  cloned.catch(() => undefined);
  const database = databases.handle(name, runtime.poolSize);
  const logFile = path.join(dir, 'servers', `${tag}.log`);
  const start = (log: ServerLog, databaseReady?: Promise<void>) => {
    const ctx = {
      root: options.root,
      databaseUrl: database.url,
      databaseName: database.name,
      databaseReady,
      prisma: runtime.prisma,
      log,
    };
    return startApp(appConfig, ctx);
  };
  let app: StartedApp | undefined;
  try {
    try {
      app = await start(new ServerLog(logFile), cloned);
    } catch (err) {
      // An app that connects while booting can beat the clone and exit on "database does not
      // exist": once the clone is there, it gets one more start.
      if (!(err instanceof AppServerError && err.reason === 'exited' && err.at < clonedAt)) throw err;
      await cloned;
      const log = new ServerLog(logFile);
      log.add('stderr', `shipgate: the app exited before its database "${name}" existed; starting it again`);
      app = await start(log);
    }
    await cloned;
    const setupUs = Math.round((performance.now() - t0) * 1000);
    const timings: WorkerTimings = { cloneUs, appStartUs: app.startUs, setupUs };
    const record: WorkerRecord = {
      ...timings,
      runId: runtime.runId,
      workerIndex: options.workerIndex,
      parallelIndex: options.parallelIndex,
      pid: process.pid,
      database: database.name,
      appMode: app.mode,
      appUrl: app.url,
      appPid: app.pid,
      serverLog: logFile,
      startedAt: new Date().toISOString(),
    };
    const recordFile = path.join(dir, 'workers', `${tag}.json`);
    const writeRecord = () => writeFileSync(recordFile, `${JSON.stringify(record, null, 2)}\n`);
    mkdirSync(path.dirname(recordFile), { recursive: true });
    writeRecord();
    const resetUs: number[] = [];

    const { rows } = await database.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
       WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND tablename <> '_prisma_migrations'
       ORDER BY 1`,
    );
    const tables = rows.map((r) => r.t);
    const db = database;
    const started = app;
    let stopping: Promise<string | undefined> | undefined;
    const worker: ShipgateWorker = {
      database: db,
      app: started,
      timings,
      failed: false,
      async reset() {
        const t = performance.now();
        if (tables.length) await db.query(`TRUNCATE ${tables.join(', ')} CASCADE`);
        const us = Math.round((performance.now() - t) * 1000);
        resetUs.push(us);
        return us;
      },
      stop() {
        stopping ??= (async () => {
          try {
            if (resetUs.length) {
              record.resetUs = resetUs;
              writeRecord();
            }
            await started.stop();
            if (worker.failed && runtime.keepOnFailure) {
              const url = await db.keep();
              announceKept(url, 'E2E worker');
              return url;
            }
            await db.drop();
            return undefined;
          } finally {
            await databases.close();
          }
        })();
        return stopping;
      },
      [Symbol.asyncDispose]: async () => {
        await worker.stop();
      },
    };
    return worker;
  } catch (err) {
    await app?.stop().catch(() => undefined);
    // The clone may still be running: let it finish (or fail) before dropping.
    await cloned.catch(() => undefined);
    await database.drop().catch(() => undefined);
    await databases.close();
    throw err;
  }
}
