import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Real HTTP servers for the budget specs, each recording what arrived. */

export interface Arrival {
  /** `performance.now()` at arrival, ms. */
  atMs: number;
  traceId?: string;
  path: string;
}

export interface TestServer extends AsyncDisposable {
  url: string;
  server: http.Server;
  arrivals: Arrival[];
  /** Highest number of requests in flight at once. */
  maxInFlight(): number;
  close(): Promise<void>;
}

export interface Behaviour {
  /** Response delay in ms (a timer, not CPU): default 0. */
  delayMs?: number | ((n: number) => number);
  /** Status for the n-th request (1-based): default 200. */
  status?: (n: number) => number;
  /** Server-Timing `app;dur=` value to send, ms. */
  serverTimingMs?: number;
  /** Called on the n-th request's arrival, before it is answered (e.g. to stall the event loop). */
  onArrival?: (n: number) => void;
}

/** Starts a server on a free loopback port that answers per `behaviour`. */
export async function startServer(behaviour: Behaviour = {}): Promise<TestServer> {
  const arrivals: Arrival[] = [];
  let inFlight = 0;
  let max = 0;
  let n = 0;
  const server = http.createServer((req, res) => {
    const i = ++n;
    inFlight++;
    max = Math.max(max, inFlight);
    const traceId = /^00-([0-9a-f]{32})-/.exec(String(req.headers.traceparent ?? ''))?.[1];
    arrivals.push({ atMs: performance.now(), traceId, path: req.url ?? '' });
    behaviour.onArrival?.(i);
    const reply = () => {
      inFlight--;
      res.statusCode = behaviour.status?.(i) ?? 200;
      if (behaviour.serverTimingMs !== undefined) res.setHeader('Server-Timing', `app;dur=${behaviour.serverTimingMs}`);
      if (traceId) res.setHeader('x-request-id', traceId);
      res.end('ok');
    };
    const delay = typeof behaviour.delayMs === 'function' ? behaviour.delayMs(i) : (behaviour.delayMs ?? 0);
    if (delay > 0) setTimeout(reply, delay);
    else reply();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    arrivals,
    maxInFlight: () => max,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Blocks this thread's event loop for `ms` (a stalled server). */
export function stallEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: nothing else on this thread runs
  }
}
