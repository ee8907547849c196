import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BudgetError } from './errors.ts';

/** What `measure()` accepts: a URL, a `node:http` server, or an app (Express app, request listener). */
export type Target = string | URL | http.Server | http.RequestListener | { listen: (...args: never[]) => unknown };

/** A target ready to receive load; `close()` stops what was started for it. */
export interface StartedTarget extends AsyncDisposable {
  origin: string;
  /** True when shipgate started the server in this process. */
  inProcess: boolean;
  close(): Promise<void>;
}

function originOf(server: http.Server): string {
  const addr = server.address() as AddressInfo | null;
  if (!addr || typeof addr === 'string') {
    throw new BudgetError('SHIPGATE_BUDGET_TARGET', 'The server under test is not listening on a TCP port.');
  }
  const host =
    addr.family === 'IPv6'
      ? `[${addr.address === '::' ? '::1' : addr.address}]`
      : addr.address === '0.0.0.0'
        ? '127.0.0.1'
        : addr.address;
  return `http://${host}:${addr.port}`;
}

async function listen(server: http.Server): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Starts an app on a free loopback port in this process (the generator runs in a worker thread,
 * so it never shares the app's event loop), or checks that a URL is well formed.
 */
export async function startTarget(target: Target): Promise<StartedTarget> {
  if (typeof target === 'string' || target instanceof URL) {
    let url: URL;
    try {
      url = new URL(String(target));
    } catch (cause) {
      throw new BudgetError('SHIPGATE_BUDGET_TARGET', `Budget target "${String(target)}" is not a URL.`, {
        cause,
        hint: 'Pass an app, an http.Server or a URL such as http://127.0.0.1:3000.',
      });
    }
    if (url.protocol !== 'http:') {
      throw new BudgetError(
        'SHIPGATE_BUDGET_TARGET',
        `Budget target "${String(target)}" uses ${url.protocol}; only http: is supported.`,
        { hint: 'Measure the plain-HTTP port (or put a TLS-terminating proxy in front).' },
      );
    }
    const none = async () => {};
    return { origin: url.origin, inProcess: false, close: none, [Symbol.asyncDispose]: none };
  }
  let server: http.Server;
  let owned = true;
  if (target instanceof http.Server) {
    server = target;
    owned = !target.listening;
    if (owned) await listen(server);
  } else if (typeof target === 'function') {
    server = http.createServer(target as http.RequestListener);
    await listen(server);
  } else {
    throw new BudgetError(
      'SHIPGATE_BUDGET_TARGET',
      `Budget target is ${typeof target === 'object' ? 'an object without a request handler' : typeof target}.`,
      { hint: 'Pass an Express app (or any (req, res) handler), an http.Server, or a URL.' },
    );
  }
  server.keepAliveTimeout = Math.max(server.keepAliveTimeout, 60_000);
  const origin = originOf(server);
  let closed = false;
  const close = async () => {
    if (closed || !owned) return;
    closed = true;
    await stop(server);
  };
  return { origin, inProcess: true, close, [Symbol.asyncDispose]: close };
}
