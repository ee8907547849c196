// The options, faults and handle of a TCP fault proxy (implementation: tcp-proxy.ts).

/** Which way bytes flow: `upstream` = client → target, `downstream` = target → client. */
export type Direction = 'upstream' | 'downstream' | 'both';

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Where to forward: `host:port`, `{ host, port }`, or a URL (e.g. `postgres://…`) whose host and port are used. */
  target: string | { host: string; port: number };
  /** Listen address. Default `127.0.0.1`. */
  host?: string;
  /** Listen port. Default 0 (a free port). */
  port?: number;
  /** Name in messages and debug output (`DEBUG=shipgate:chaos:*`). Default `tcp-proxy`. */
  name?: string;
}

/** `latency()`: delay every chunk by `ms` ± `jitterMs` (uniform). */
export interface LatencyFault {
  ms: number;
  /** Default 0. */
  jitterMs?: number;
  /** Default `downstream` (replies are late, so each round trip grows by `ms`). */
  direction?: Direction;
}

/** `bandwidth()`: at most `bytesPerSecond` in the given direction(s). */
export interface BandwidthFault {
  bytesPerSecond: number;
  /** Default `both`. */
  direction?: Direction;
}

/**
 * `down()`: the target "goes down". Existing connections are reset, and new ones are
 * `refuse`d (the port is closed: ECONNREFUSED), `reset` right after accept (ECONNRESET), or
 * `blackhole`d (accepted, then never answered: the client's connect timeout fires).
 */
export interface DownFault {
  /** Come back up by itself after this many ms. Default: stay down until `up()`. */
  ms?: number;
  /** Default `refuse`. */
  mode?: 'refuse' | 'reset' | 'blackhole';
}

/** What the proxy has seen. */
export interface TcpProxyStats {
  /** Connections accepted and forwarded. */
  accepted: number;
  /** Forwarded connections open now. */
  active: number;
  /** Connection attempts turned away while down (refused ones never reach the proxy, so not counted). */
  turnedAway: number;
  /** Connections reset by a fault (`reset()`, `down()`, `loseReply()`). */
  resets: number;
  /** Connections frozen by `drop()`. */
  dropped: number;
  bytesUpstream: number;
  bytesDownstream: number;
}

/** A started TCP fault proxy; `await using` closes it. */
export interface TcpProxy extends AsyncDisposable {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Whether the proxy is "down" now. */
  readonly isDown: boolean;
  /** `url` with its host and port replaced by the proxy's, e.g. a database URL that goes through the proxy. */
  url(url: string): string;
  /** Adds latency (and jitter) to the given direction(s); replaces an earlier latency there. */
  latency(fault: LatencyFault): this;
  /** Limits bandwidth in the given direction(s); replaces an earlier limit there. */
  bandwidth(fault: BandwidthFault): this;
  /** Goes down: resets existing connections and turns new ones away (see {@link DownFault}). */
  down(fault?: DownFault): Promise<void>;
  /** Comes back up: accepts and forwards new connections again. */
  up(): Promise<void>;
  /** Resets (TCP RST) every open connection now, both sides; returns how many. */
  reset(): number;
  /** Silently stops forwarding on every open connection (a pulled cable): peers notice only by their own timeouts. Returns how many. */
  drop(): number;
  /**
   * On the next connection that sends a chunk matching `match`, forwards that chunk to the
   * target, then resets the connection instead of passing on the target's reply: the statement
   * ran, but the client never learns it did. Matching is per chunk as read from the socket.
   * Resolves `true` once it fired, `false` if cleared or closed first.
   */
  loseReply(match: string | RegExp | ((chunk: Buffer) => boolean)): Promise<boolean>;
  /** Removes every fault: latency and bandwidth off, up again, pending `loseReply` cancelled, dropped connections reset. */
  clear(): Promise<void>;
  stats(): TcpProxyStats;
  /** Stops listening and resets every connection. Idempotent. */
  close(): Promise<void>;
}
