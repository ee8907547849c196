import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTeardown } from '../core/cleanup.ts';
import { debug } from '../core/debug.ts';
import { freePort } from '../core/net.ts';
import { registerReapable } from '../reaper/reaper.ts';
import {
  type AppCommandConfig,
  type AppContext,
  AppServerError,
  readyTimeout,
  type StartedApp,
  waitHealthy,
} from './app-server.ts';
import type { LogEntry } from './server-log.ts';

const log = debug('playwright:app');

const LISTENING_TEXT = /listening\b.*?(?:port\s*|:)(\d{2,5})\b/i;

/** argv from the config; a leading `node` becomes this process's Node binary. */
export function commandArgv(command: string | readonly string[]): string[] {
  const argv = typeof command === 'string' ? command.trim().split(/\s+/) : [...command];
  if (argv[0] === 'node') argv[0] = process.execPath;
  return argv;
}

/** The port a ready line announces, or undefined when the line is not the ready line. */
function announcedPort(entry: LogEntry, pattern: RegExp | undefined, fallbackPort: number): number | undefined {
  if (pattern) {
    const m = pattern.exec(entry.text);
    if (!m) return undefined;
    return m[1] ? Number(m[1]) : fallbackPort;
  }
  const j = entry.json;
  if (j && j.event === 'listening' && typeof j.port === 'number') return j.port;
  const m = LISTENING_TEXT.exec(entry.text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Node's compile cache for a `node …` server: every worker boots the same server, and reusing
 * V8's compiled code saves about a tenth of its start-up. Kept in `node_modules/.cache/shipgate`
 * next to the config; `NODE_DISABLE_COMPILE_CACHE=1` (or an own `NODE_COMPILE_CACHE`) in
 * `app.env` or the environment opts out.
 */
export function compileCacheEnv(argv: readonly string[], root: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (argv[0] !== process.execPath || env.NODE_COMPILE_CACHE || env.NODE_DISABLE_COMPILE_CACHE) return {};
  const modules = path.join(root, 'node_modules');
  if (!existsSync(modules)) return {};
  return { NODE_COMPILE_CACHE: path.join(modules, '.cache', 'shipgate', 'node-compile-cache') };
}

/** How many capture groups a pattern has (an empty alternative always matches, with every group unset). */
function captureGroups(pattern: RegExp): number {
  return (new RegExp(`${pattern.source}|`).exec('') as RegExpExecArray).length - 1;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

// A detached child leads its own process group: signalling -pid reaches a wrapper (`pnpm
// start`) and the server it started alike.
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/**
 * Starts the server command with the worker database's URL and port 0, waits for its ready
 * line (and health path), and returns it. Its stdout and stderr go to `ctx.log`. It is stopped
 * on teardown and on SIGINT/SIGTERM, and reaped if the worker dies hard.
 */
export async function startAppProcess(config: AppCommandConfig, ctx: AppContext): Promise<StartedApp> {
  const argv = commandArgv(config.command);
  const shown = typeof config.command === 'string' ? config.command : config.command.join(' ');
  const cwd = path.resolve(ctx.root, config.cwd ?? '.');
  const timeoutMs = readyTimeout(config);
  const stopTimeoutMs = config.stopTimeoutMs ?? 5_000;
  // Without a port in the ready line, the server must be told a concrete free port up front.
  const fixedPort = config.readyPattern && captureGroups(config.readyPattern) === 0 ? await freePort() : 0;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...compileCacheEnv(argv, ctx.root, { ...process.env, ...config.env }),
    ...config.env,
    [config.databaseUrlEnv ?? 'DATABASE_URL']: ctx.databaseUrl,
    [config.portEnv ?? 'PORT']: String(fixedPort),
  };
  const started = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (chunk: Buffer) => ctx.log.write('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => ctx.log.write('stderr', chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  // The reaper signals the pid this file names: a private dir (mkdtemp: 0700, a fresh name),
  // never a predictable path that another user could pre-create.
  const pidDir = mkdtempSync(path.join(tmpdir(), `shipgate-app-${process.pid}-`));
  const pidFile = path.join(pidDir, 'app.pid');
  let unreap = () => {};
  if (child.pid) {
    writeFileSync(pidFile, `${child.pid}\n`, { flag: 'wx', mode: 0o600 });
    unreap = registerReapable({ kind: 'process', pidFile, dirs: [] });
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      unregister();
      if (alive(child)) {
        signalGroup(child, 'SIGTERM');
        const grace = setTimeout(() => signalGroup(child, 'SIGKILL'), stopTimeoutMs);
        await exited;
        clearTimeout(grace);
      }
      // Output still buffered in the pipes belongs in the log.
      await new Promise((r) => setImmediate(r));
      await ctx.log.close();
      unreap();
      rmSync(pidDir, { recursive: true, force: true });
      log('stopped %s (pid %d)', shown, child.pid);
    })();
    return stopped;
  };
  const unregister = onTeardown(`app server ${shown}`, stop);

  try {
    const ready = ctx.log.waitFor((e) => announcedPort(e, config.readyPattern, fixedPort) !== undefined, timeoutMs);
    ready.catch(() => undefined);
    const outcome = await Promise.race([
      ready.then((e) => ({ port: announcedPort(e, config.readyPattern, fixedPort) as number })),
      exited.then(() => ({ exited: true as const })),
      spawnError.then((err) => ({ error: err })),
    ]).catch((err: unknown) => ({ timeout: err }));
    if ('error' in outcome) {
      throw new AppServerError(`App server command "${shown}" could not start: ${outcome.error.message}.`, {
        cause: outcome.error,
        hint: 'Fix use.app.command in playwright.config.ts.',
        reason: 'spawn',
      });
    }
    if ('exited' in outcome) {
      await new Promise((r) => setImmediate(r));
      const how = child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
      throw new AppServerError(
        `App server "${shown}" exited with ${how} before it was ready. Its last lines:\n${ctx.log.tail(15).join('\n')}\n`,
        { hint: 'Check use.app.command, its cwd and env, and that it reads DATABASE_URL and PORT.', reason: 'exited' },
      );
    }
    if ('timeout' in outcome) {
      throw new AppServerError(
        `App server "${shown}" did not say it was listening within ${timeoutMs} ms (expected a line {"event":"listening","port":N}${config.readyPattern ? ` or matching ${config.readyPattern}` : ''}). Its last lines:\n${ctx.log.tail(15).join('\n')}\n`,
        {
          hint: 'Set use.app.readyPattern to match its ready line, or raise use.app.readyTimeoutMs.',
          reason: 'timeout',
        },
      );
    }
    const url = `http://127.0.0.1:${outcome.port}`;
    await ctx.databaseReady;
    if (config.healthPath) await waitHealthy(`${url}${config.healthPath}`, Date.now() + timeoutMs, () => alive(child));
    const startUs = Math.round((performance.now() - started) * 1000);
    log('started %s at %s (pid %d) in %d µs', shown, url, child.pid, startUs);
    return {
      mode: 'process',
      url,
      port: outcome.port,
      pid: child.pid,
      log: ctx.log,
      startUs,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
