import { connect, createServer, type Server, type Socket } from 'node:net';
import { onTeardown } from '../core/cleanup.ts';
import { debug } from '../core/debug.ts';
import { listen, parseHostPort } from '../core/net.ts';
import { assertChaosAllowed, ChaosError, checkDownFault, checkNumber, reportProblems } from './guard.ts';
import { Lane, type Shape } from './lane.ts';
import type {
  BandwidthFault,
  Direction,
  DownFault,
  LatencyFault,
  TcpProxy,
  TcpProxyOptions,
  TcpProxyStats,
} from './tcp-proxy-types.ts';

export type {
  BandwidthFault,
  Direction,
  DownFault,
  LatencyFault,
  TcpProxy,
  TcpProxyOptions,
  TcpProxyStats,
} from './tcp-proxy-types.ts';

const log = debug('chaos:tcp');

interface Conn {
  client: Socket;
  server: Socket;
  lanes: Lane[];
  frozen: boolean;
}

const NO_SHAPE: Shape = { latencyMs: 0, jitterMs: 0, bytesPerSecond: 0 };

function parseTarget(target: TcpProxyOptions['target']): { host: string; port: number } {
  if (typeof target === 'object' && target !== null) return target;
  const text = String(target);
  const parsed = parseHostPort(text);
  if (parsed) return parsed;
  throw new ChaosError(
    'SHIPGATE_CHAOS_CONFIG',
    `TCP proxy target "${text}" is not host:port or a URL with a host and port.`,
    { hint: 'Pass target as "127.0.0.1:5432", { host, port } or a postgres:// URL.' },
  );
}

function directions(d: Direction | undefined, fallback: Direction): ('upstream' | 'downstream')[] {
  const dir = d ?? fallback;
  if (dir !== 'upstream' && dir !== 'downstream' && dir !== 'both') {
    throw new ChaosError(
      'SHIPGATE_CHAOS_CONFIG',
      `direction must be upstream, downstream or both (got "${String(d)}").`,
    );
  }
  return dir === 'both' ? ['upstream', 'downstream'] : [dir];
}

function matcher(match: string | RegExp | ((chunk: Buffer) => boolean)): (chunk: Buffer) => boolean {
  if (typeof match === 'function') return match;
  if (typeof match === 'string') return (chunk) => chunk.includes(match);
  // Postgres messages are mostly ASCII framing around UTF-8 text; latin1 keeps byte offsets stable.
  return (chunk) => match.test(chunk.toString('latin1'));
}

/**
 * Starts a TCP proxy on 127.0.0.1 in front of `target` (typically the test's Postgres) whose
 * faults can be switched at run time: latency and jitter, bandwidth, reset or silently dropped
 * connections, "down" for N ms, and a lost reply after a statement ran. Refused when
 * `NODE_ENV=production`.
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const name = options.name ?? 'tcp-proxy';
  assertChaosAllowed(name);
  const target = parseTarget(options.target);
  const host = options.host ?? '127.0.0.1';
  const problems: string[] = [];
  checkNumber(problems, 'port', options.port, { integer: true, optional: true });
  reportProblems(`TCP proxy "${name}" options`, problems);

  const shapes: Record<'upstream' | 'downstream', Shape> = { upstream: { ...NO_SHAPE }, downstream: { ...NO_SHAPE } };
  const conns = new Set<Conn>();
  const pending = new Set<Socket>();
  const stats: TcpProxyStats = {
    accepted: 0,
    active: 0,
    turnedAway: 0,
    resets: 0,
    dropped: 0,
    bytesUpstream: 0,
    bytesDownstream: 0,
  };
  let downMode: DownFault['mode'] | undefined;
  let upTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let loseReplyArm: { test: (chunk: Buffer) => boolean; settle: (fired: boolean) => void } | undefined;

  const resetConn = (c: Conn) => {
    stats.resets += 1;
    c.client.resetAndDestroy();
    c.server.resetAndDestroy();
  };

  type Arm = { test: (chunk: Buffer) => boolean; settle: (fired: boolean) => void };
  // After a matching request chunk, the connection's next reply is never delivered: it is reset instead.
  const watchFor = (c: Conn, arm: Arm) => {
    const watch = (chunk: Buffer) => {
      if (loseReplyArm !== arm) {
        c.client.off('data', watch);
        return;
      }
      if (!arm.test(chunk)) return;
      loseReplyArm = undefined;
      c.client.off('data', watch);
      c.lanes[1]?.interceptNext(() => {
        log('%s: lost the reply to a matching request; resetting', name);
        resetConn(c);
        arm.settle(true);
      });
    };
    // Before the lane's own listener, so the reply is intercepted even if it comes back at once.
    c.client.prependListener('data', watch);
  };

  const onConnection = (client: Socket) => {
    if (downMode === 'reset') {
      stats.turnedAway += 1;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    if (downMode === 'blackhole') {
      stats.turnedAway += 1;
      pending.add(client);
      client.on('error', () => undefined);
      client.on('close', () => pending.delete(client));
      client.pause();
      return;
    }
    stats.accepted += 1;
    client.pause();
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const conn: Conn = { client, server: upstream, lanes: [], frozen: false };
    conns.add(conn);
    stats.active = conns.size;
    const up = new Lane(
      client,
      upstream,
      () => shapes.upstream,
      (n) => {
        stats.bytesUpstream += n;
      },
    );
    const down = new Lane(
      upstream,
      client,
      () => shapes.downstream,
      (n) => {
        stats.bytesDownstream += n;
      },
    );
    conn.lanes.push(up, down);
    // A peer's RST is passed on as an RST, a FIN as a FIN (after queued bytes are delivered).
    const onError = (other: Socket) => (err: NodeJS.ErrnoException) => {
      log('%s: %s', name, err.message);
      if (!other.destroyed) other.resetAndDestroy();
    };
    client.on('error', onError(upstream));
    upstream.on('error', onError(client));
    const cleanup = () => {
      if (!conns.delete(conn)) return;
      stats.active = conns.size;
      for (const lane of conn.lanes) lane.dispose();
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('close', cleanup);
    upstream.on('close', cleanup);
    upstream.on('connect', () => client.resume());

    if (loseReplyArm) watchFor(conn, loseReplyArm);
  };

  // allowHalfOpen: a client's FIN must not cut off replies still queued behind a latency fault.
  let server = createServer({ allowHalfOpen: true }, onConnection);
  let port = await listen(server, host, options.port ?? 0);
  log('%s: listening on %s:%d → %s:%d', name, host, port, target.host, target.port);

  const resetAll = () => {
    let n = 0;
    for (const c of [...conns]) {
      resetConn(c);
      n += 1;
    }
    return n;
  };
  const releasePending = () => {
    for (const s of pending) s.resetAndDestroy();
    pending.clear();
  };

  async function relisten(): Promise<void> {
    // The port was closed to refuse connections; another socket may hold it for a moment.
    let lastErr: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      server = createServer({ allowHalfOpen: true }, onConnection);
      try {
        port = await listen(server, host, port);
        return;
      } catch (err) {
        lastErr = err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new ChaosError(
      'SHIPGATE_CHAOS_PORT',
      `TCP proxy "${name}" could not listen on ${host}:${port} again after going down (refuse mode).`,
      { cause: lastErr, hint: 'Another process took the port; use down({ mode: "reset" }), which keeps it open.' },
    );
  }

  let unregister = () => {};
  const proxy: TcpProxy = {
    name,
    host,
    get port() {
      return port;
    },
    get isDown() {
      return downMode !== undefined;
    },
    url(url: string) {
      const u = new URL(url);
      u.hostname = host;
      u.port = String(port);
      return u.toString();
    },
    latency(fault: LatencyFault) {
      assertChaosAllowed(`${name}.latency`);
      const problems: string[] = [];
      checkNumber(problems, 'latency ms', fault.ms);
      checkNumber(problems, 'latency jitterMs', fault.jitterMs, { optional: true });
      reportProblems(`latency fault on "${name}"`, problems);
      for (const d of directions(fault.direction, 'downstream')) {
        shapes[d] = { ...shapes[d], latencyMs: fault.ms, jitterMs: fault.jitterMs ?? 0 };
      }
      log('%s: latency %d ms ± %d', name, fault.ms, fault.jitterMs ?? 0);
      return proxy;
    },
    bandwidth(fault: BandwidthFault) {
      assertChaosAllowed(`${name}.bandwidth`);
      const problems: string[] = [];
      checkNumber(problems, 'bytesPerSecond', fault.bytesPerSecond, { min: 1 });
      reportProblems(`bandwidth fault on "${name}"`, problems);
      for (const d of directions(fault.direction, 'both')) {
        shapes[d] = { ...shapes[d], bytesPerSecond: fault.bytesPerSecond };
      }
      log('%s: bandwidth %d B/s', name, fault.bytesPerSecond);
      return proxy;
    },
    async down(fault: DownFault = {}) {
      assertChaosAllowed(`${name}.down`);
      const mode = checkDownFault(name, fault, ['refuse', 'reset', 'blackhole']);
      clearTimeout(upTimer);
      const wasRefusing = downMode === 'refuse';
      if (downMode && downMode !== mode) await proxy.up();
      downMode = mode;
      resetAll();
      // close() releases the port at once; its callback would wait for every connection to end.
      if (mode === 'refuse' && !wasRefusing) server.close();
      log('%s: down (%s)%s', name, mode, fault.ms === undefined ? '' : ` for ${fault.ms} ms`);
      if (fault.ms !== undefined) {
        upTimer = setTimeout(() => {
          proxy.up().catch((err: unknown) => log('%s: coming back up failed: %s', name, String(err)));
        }, fault.ms);
        upTimer.unref();
      }
    },
    async up() {
      clearTimeout(upTimer);
      if (!downMode || closed) return;
      const mode = downMode;
      downMode = undefined;
      releasePending();
      if (mode === 'refuse') await relisten();
      log('%s: up', name);
    },
    reset() {
      assertChaosAllowed(`${name}.reset`);
      const n = resetAll();
      log('%s: reset %d connection(s)', name, n);
      return n;
    },
    drop() {
      assertChaosAllowed(`${name}.drop`);
      let n = 0;
      for (const c of conns) {
        if (c.frozen) continue;
        c.frozen = true;
        for (const lane of c.lanes) lane.freeze();
        n += 1;
      }
      stats.dropped += n;
      log('%s: dropped %d connection(s)', name, n);
      return n;
    },
    loseReply(match) {
      assertChaosAllowed(`${name}.loseReply`);
      loseReplyArm?.settle(false);
      const test = matcher(match);
      return new Promise<boolean>((resolve) => {
        const arm = { test, settle: resolve };
        loseReplyArm = arm;
        // Connections that already exist are watched too (pools keep connections open).
        for (const c of conns) watchFor(c, arm);
      });
    },
    async clear() {
      shapes.upstream = { ...NO_SHAPE };
      shapes.downstream = { ...NO_SHAPE };
      loseReplyArm?.settle(false);
      loseReplyArm = undefined;
      for (const c of [...conns]) if (c.frozen) resetConn(c);
      await proxy.up();
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(upTimer);
      unregister();
      loseReplyArm?.settle(false);
      loseReplyArm = undefined;
      releasePending();
      for (const c of [...conns]) {
        c.client.destroy();
        c.server.destroy();
      }
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
      log('%s: closed', name);
    },
    [Symbol.asyncDispose]: () => proxy.close(),
  };
  // In-process sockets die with the process; this only makes SIGINT/SIGTERM close them in order.
  unregister = onTeardown(`chaos ${name}`, () => proxy.close());
  return proxy;
}
