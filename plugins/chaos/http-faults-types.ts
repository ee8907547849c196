import type { IncomingMessage, ServerResponse } from 'node:http';

// The options, faults and handle of an HTTP fault injector (implementation: http-faults.ts).

/** Options of {@link startHttpFaults}: forward to `target`, or answer with `handler`. */
export interface HttpFaultsOptions {
  /** A real upstream to forward to, e.g. `http://127.0.0.1:4000` (path and query are kept). */
  target?: string;
  /** Or answer requests here (when there is no separate upstream). */
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Listen address. Default `127.0.0.1`, port 0 (a free one). */
  host?: string;
  port?: number;
  /** Name in messages and debug output (`DEBUG=shipgate:chaos:*`). Default `http-faults`. */
  name?: string;
}

/** Which requests a fault applies to, and how many times. */
export interface HttpFaultScope {
  /** Method, case-insensitive. Default: any. */
  method?: string;
  /** Exact path (no query), or a RegExp tested against the path. Default: any. */
  path?: string | RegExp;
  /** Matching requests that get the fault; default: all of them until `clear()`. */
  times?: number;
}

/** One request the injector saw: what was asked, what it did, and when (ms, `performance.now()` clock). */
export interface SeenRequest {
  at: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** `forwarded` (or `handled`), or the fault: `error`, `rate-limit`, `reset`, `hang`. */
  action: 'forwarded' | 'handled' | 'error' | 'rate-limit' | 'reset' | 'hang';
  /** Status sent, when one was. */
  status?: number;
  /** Latency added, ms. */
  delayMs: number;
}

/** A started HTTP fault injector; `await using` closes it. */
export interface HttpFaults extends AsyncDisposable {
  readonly name: string;
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Answers matching requests with `status` (a 5xx, by default 503), an optional JSON body and headers. */
  error(status?: number, scope?: HttpFaultScope & { body?: unknown; headers?: Record<string, string> }): this;
  /** Answers matching requests 429 with `Retry-After`: seconds, or a Date for the HTTP-date form. */
  rateLimit(retryAfter: number | Date, scope?: HttpFaultScope): this;
  /**
   * Delays matching requests by `ms` ± `jitterMs`: `on: 'request'` (default) before they are
   * answered or forwarded (a slow network: the upstream never sees a request its client gave up
   * on); `on: 'response'` after the upstream answered (a slow upstream: the work is done, the
   * answer is late). With a `handler`, both delay before the handler runs.
   */
  latency(ms: number, scope?: HttpFaultScope & { jitterMs?: number; on?: 'request' | 'response' }): this;
  /**
   * Goes down: `refuse` closes the port (ECONNREFUSED), `reset` resets each connection
   * (ECONNRESET), `hang` accepts and never answers (the client's timeout fires). Open
   * connections are cut. Comes back after `ms` when given.
   */
  down(options?: { ms?: number; mode?: 'refuse' | 'reset' | 'hang' }): Promise<void>;
  up(): Promise<void>;
  /** Removes every fault and comes back up. The request log is kept. */
  clear(): Promise<void>;
  /** Every request seen, oldest first. */
  readonly requests: readonly SeenRequest[];
  close(): Promise<void>;
}
