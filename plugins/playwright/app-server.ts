import { ShipgateError } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';
import type { ServerLog } from './server-log.ts';

/**
 * The app under test, one per Playwright worker, wired to the worker's own database. Two ways
 * to run it, one file each: a server command in its own process (`app-process.ts`, the
 * default: the same entry point as production, a real log on stdout, and a crash that cannot
 * take the worker down) or an app factory inside the worker (`app-in-process.ts`).
 */

/** Run the app's server command in a child process. */
export interface AppCommandConfig {
  /** argv, or a string split on whitespace (no shell). A leading `node` runs the current Node binary. */
  command: string | readonly string[];
  /** Working directory, relative to the Playwright config's folder. Default: that folder. */
  cwd?: string;
  /** Extra environment for the server. */
  env?: Record<string, string>;
  /** Env var that receives the worker database's URL. Default `DATABASE_URL`. */
  databaseUrlEnv?: string;
  /** Env var that receives the port. Default `PORT`, set to `0` so the server picks a free one. */
  portEnv?: string;
  /**
   * How the server says it is listening. Default: a JSON line with a numeric `port` and
   * `event: "listening"` (what `example/src/server.ts` prints), or text like `listening on …:3000`.
   * A custom pattern's first capture group is the port; without one, shipgate picks a free port
   * and passes it in `portEnv`.
   */
  readyPattern?: RegExp;
  /** Path fetched once listening, until it answers 2xx (the database is reachable). Default: none. */
  healthPath?: string;
  /** Limit for start-up (listening plus health). Default 30000 ms; env `SHIPGATE_APP_READY_TIMEOUT_MS`. */
  readyTimeoutMs?: number;
  /** Grace period after SIGTERM before SIGKILL. Default 5000 ms. */
  stopTimeoutMs?: number;
}

/** Run an app factory inside the worker process. */
export interface AppFactoryConfig {
  /** `path#export` of `({ prisma, db, log }) => express app | http.Server | request handler`. */
  factory: string;
  /** Path fetched once listening, until it answers 2xx. Default: none. */
  healthPath?: string;
  /** Limit for start-up. Default 30000 ms. */
  readyTimeoutMs?: number;
}

/** How to start the app under test: a server command (`{ command }`) or an app factory (`{ factory }`). */
export type AppConfig = AppCommandConfig | AppFactoryConfig;

/** A running app server of one worker. */
export interface StartedApp extends AsyncDisposable {
  mode: 'process' | 'in-process';
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The server process (process mode). */
  pid?: number;
  /** Everything the server printed (or logged, in-process). */
  log: ServerLog;
  /** Microseconds from spawn to ready (listening, and healthy when `healthPath` is set). */
  startUs: number;
  /** Stops the server (SIGTERM, then SIGKILL after the grace period) and closes the log. Idempotent. */
  stop(): Promise<void>;
}

/** What a worker hands the app starters. */
export interface AppContext {
  /** Folder that relative paths in the config resolve against (the Playwright config's folder). */
  root: string;
  databaseUrl: string;
  databaseName: string;
  /** Settles when the database exists; the app may boot before, but is not asked to use it until then. */
  databaseReady?: Promise<void>;
  /** `path#export` of the Prisma factory (`shipgate.prisma`), for in-process apps. */
  prisma?: string;
  log: ServerLog;
}

/** The app server could not be started, or stopped answering. */
export class AppServerError extends ShipgateError {
  /** What went wrong: it could not be spawned, exited before ready, never said it was ready, or was unhealthy. */
  readonly reason: 'spawn' | 'exited' | 'timeout' | 'health' | 'factory';
  /** When it went wrong (`performance.now()`). */
  readonly at: number;
  constructor(message: string, options: { cause?: unknown; hint?: string; reason: AppServerError['reason'] }) {
    super('SHIPGATE_APP_SERVER', message, options);
    this.reason = options.reason;
    this.at = performance.now();
  }
}

/** Problems with an `app` config value, for up-front validation; empty when it is fine. */
export function appConfigProblems(app: unknown): string[] {
  if (app === undefined) return [];
  if (typeof app !== 'object' || app === null) return [`app must be { command } or { factory }, got ${typeof app}`];
  const a = app as Record<string, unknown>;
  const problems: string[] = [];
  if ('command' in a === 'factory' in a) problems.push('app needs exactly one of "command" or "factory"');
  if ('command' in a) {
    const c = a.command;
    const ok =
      (typeof c === 'string' && c.trim() !== '') ||
      (Array.isArray(c) && c.length > 0 && c.every((x) => typeof x === 'string'));
    if (!ok) problems.push(`app.command must be a non-empty string or string array, got ${JSON.stringify(c)}`);
  }
  if ('factory' in a && (typeof a.factory !== 'string' || !a.factory.includes('#'))) {
    problems.push(`app.factory must be "path#export", got ${JSON.stringify(a.factory)}`);
  }
  if ('readyPattern' in a && a.readyPattern !== undefined && !(a.readyPattern instanceof RegExp)) {
    problems.push('app.readyPattern must be a RegExp');
  }
  for (const key of ['readyTimeoutMs', 'stopTimeoutMs'] as const) {
    const v = a[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      problems.push(`app.${key} is ${JSON.stringify(v)}; expected a positive number of milliseconds`);
    }
  }
  if (a.healthPath !== undefined && !(typeof a.healthPath === 'string' && a.healthPath.startsWith('/'))) {
    problems.push(`app.healthPath is ${JSON.stringify(a.healthPath)}; expected a path starting with "/"`);
  }
  return problems;
}

/** Start-up limit: `readyTimeoutMs`, else `SHIPGATE_APP_READY_TIMEOUT_MS`, else 30 s. */
export function readyTimeout(config: { readyTimeoutMs?: number }): number {
  return Number(envValue('SHIPGATE_APP_READY_TIMEOUT_MS')) || config.readyTimeoutMs || 30_000;
}

/** GETs `url` until it answers 2xx; throws with the last status or error after `deadline`. */
export async function waitHealthy(url: string, deadline: number, alive: () => boolean = () => true): Promise<void> {
  let last = '';
  while (alive()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(100, deadline - Date.now())) });
      const body = await res.text();
      if (res.ok) return;
      last = `HTTP ${res.status} ${body.slice(0, 200)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new AppServerError(`Health check "${url}" did not answer 2xx: ${last || 'the server exited'}.`, {
    hint: 'Check app.healthPath and that the server can reach its DATABASE_URL.',
    reason: 'health',
  });
}
