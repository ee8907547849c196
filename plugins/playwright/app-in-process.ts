import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTeardown } from '../core/cleanup.ts';
import { loadModuleFunction } from '../core/config.ts';
import {
  type AppContext,
  type AppFactoryConfig,
  AppServerError,
  readyTimeout,
  type StartedApp,
  waitHealthy,
} from './app-server.ts';

/** What an in-process app factory receives. */
export interface AppFactoryDeps {
  /** A client from `shipgate.prisma`, bound to the worker's database (undefined without a factory). */
  prisma: unknown;
  db: { name: string; url: string };
  /** Structured log lines (objects or strings) for the worker's server log. */
  log: (line: unknown) => void;
}

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function listen(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Runs the app factory inside the worker: faster to start than a process (no second Node
 * boot), but it shares the worker's event loop, and its log is only what it passes to `log`.
 */
export async function startAppInProcess(config: AppFactoryConfig, ctx: AppContext): Promise<StartedApp> {
  const started = performance.now();
  await ctx.databaseReady;
  const factory = await loadModuleFunction<(deps: AppFactoryDeps) => unknown>(config.factory, ctx.root, 'app.factory');
  const prisma = ctx.prisma
    ? (await loadModuleFunction<(url: string, o: object) => unknown>(ctx.prisma, ctx.root, 'shipgate.prisma'))(
        ctx.databaseUrl,
        {},
      )
    : undefined;
  const disconnect = async () => {
    await (prisma as { $disconnect?: () => Promise<void> } | undefined)?.$disconnect?.();
  };
  let server: http.Server | undefined;
  try {
    const app = await factory({
      prisma,
      db: { name: ctx.databaseName, url: ctx.databaseUrl },
      log: (line) => ctx.log.add('stdout', typeof line === 'string' ? line : JSON.stringify(line)),
    });
    if (app instanceof http.Server) server = app;
    else if (typeof app === 'function') server = http.createServer(app as Listener);
    else {
      throw new AppServerError(
        `app.factory "${config.factory}" returned ${app === null ? 'null' : typeof app}; expected an express app, a request handler or an http.Server.`,
        { hint: 'Return the app from the factory (Express apps are request handlers).', reason: 'factory' },
      );
    }
    if (!server.listening) await listen(server);
  } catch (err) {
    server?.close();
    await disconnect();
    throw err;
  }
  const srv = server;
  const port = (srv.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      unregister();
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeAllConnections();
      await closed;
      await disconnect();
      await ctx.log.close();
    })();
    return stopped;
  };
  const unregister = onTeardown(`app ${config.factory}`, stop);
  try {
    if (config.healthPath) await waitHealthy(`${url}${config.healthPath}`, Date.now() + readyTimeout(config));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    mode: 'in-process',
    url,
    port,
    log: ctx.log,
    startUs: Math.round((performance.now() - started) * 1000),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
