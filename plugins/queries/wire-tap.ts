import net from 'node:net';
import { debug } from '../core/debug.ts';
import { ShipgateError } from '../core/errors.ts';
import { listen, parseHostPort } from '../core/net.ts';
import { FrontendParser } from './pg-frames.ts';
import { isControl, shapeOf, traceIdOf } from './shape.ts';

const trace = debug('queries:tap');

/** A statement the tap saw a client send. */
export interface CapturedStatement {
  /** The text as sent (values are parameters, or literals in a simple query). */
  text: string;
  shape: string;
  /** Transaction control or a session setting: not counted as a query. */
  control: boolean;
  /** The connection it came on (1, 2, …, in the order they were opened). */
  conn: number;
  /** When the tap read it, `performance.now()` ms in this process. */
  at: number;
  /** The trace id of a sqlcommenter `traceparent` comment in it. */
  tag?: string;
  /**
   * An extended-protocol statement's parameters, as bound: text-format values as strings,
   * NULL as null, binary-format values as undefined (unknown). Absent when it had none.
   */
  params?: (string | null | undefined)[];
}

/**
 * A captured statement whose shape, control flag and tag are worked out when first read: the
 * tap sits on every query's path, so it does no more than record the text as it passes.
 */
class Statement implements CapturedStatement {
  readonly text: string;
  readonly conn: number;
  readonly at: number;
  readonly params?: (string | null | undefined)[];
  #shape: string | undefined;
  #control: boolean | undefined;
  #tag: string | null | undefined;

  constructor(text: string, conn: number, at: number, params?: (string | null | undefined)[]) {
    this.text = text;
    this.conn = conn;
    this.at = at;
    if (params) this.params = params;
  }

  get shape(): string {
    this.#shape ??= shapeOf(this.text);
    return this.#shape;
  }

  get control(): boolean {
    this.#control ??= isControl(this.text);
    return this.#control;
  }

  get tag(): string | undefined {
    if (this.#tag === undefined) this.#tag = traceIdOf(this.text) ?? null;
    return this.#tag ?? undefined;
  }

  toJSON() {
    return { text: this.text, shape: this.shape, control: this.control, conn: this.conn, at: this.at, tag: this.tag };
  }
}

/** Query capture failed or was misused (`code` SHIPGATE_QUERIES_*). */
export class QueryCaptureError extends ShipgateError {}

/**
 * A wire tap in front of one Postgres server: a loopback TCP port that forwards every byte
 * both ways, unchanged, and reads the statements clients send as they pass (pg-frames.ts).
 * Any client, ORM or driver, in this process or another, is seen; nothing is slowed beyond
 * one loopback hop. Connections that use TLS are forwarded but not read (`opaque`).
 */
export interface QueryTap extends AsyncDisposable {
  /** The tap's port on 127.0.0.1. */
  readonly port: number;
  /** `url` (a URL of the tapped server) pointed at the tap instead. */
  url(url: string): string;
  /** Every statement seen so far, in the order they were read. */
  statements(): readonly CapturedStatement[];
  /** Connections the tap could not read (TLS, GSS or not Postgres). */
  opaqueConnections(): number;
  close(): Promise<void>;
}

/** Starts a tap forwarding to `target` (`postgres://…` or `host:port`). */
export async function startQueryTap(target: string): Promise<QueryTap> {
  const { host, port } = parseTarget(target);
  const statements: CapturedStatement[] = [];
  const sockets = new Set<net.Socket>();
  let conns = 0;
  let opaque = 0;

  const server = net.createServer((client) => {
    const conn = ++conns;
    const upstream = net.connect({ host, port });
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const parser = new FrontendParser();
    let counted = false;
    client.on('data', (chunk: Buffer) => {
      const at = performance.now();
      for (const s of parser.push(chunk)) {
        statements.push(new Statement(s.text, conn, at, s.params));
      }
      if (parser.opaque && !counted) {
        counted = true;
        opaque++;
        trace('connection %d is opaque (TLS, GSS or not Postgres): its statements are not seen', conn);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  });
  const tapPort = await listen(server, '127.0.0.1', 0);
  // A tap nobody closed does not keep the process alive; its open connections still do.
  server.unref();
  trace('tap on 127.0.0.1:%d → %s:%d', tapPort, host, port);

  // No signal-time teardown: the tap holds nothing outside this process (its sockets close
  // with it), and a SIGTERM handler in a Vitest worker would print an interruption line at
  // the end of every normal run, when Vitest stops its workers.
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closing;
  };

  return {
    port: tapPort,
    url(url: string): string {
      const u = new URL(url);
      if (u.searchParams.has('host') || u.searchParams.has('port')) {
        throw new QueryCaptureError(
          'SHIPGATE_QUERIES_URL',
          `The database URL "${u.protocol}//${u.host}${u.pathname}" sets host or port in its query string, so the query tap cannot stand in front of it.`,
          { hint: 'Put the host and port in the URL itself, or turn capture off with SHIPGATE_QUERY_CAPTURE=0.' },
        );
      }
      u.hostname = '127.0.0.1';
      u.port = String(tapPort);
      return u.toString();
    },
    statements: () => statements,
    opaqueConnections: () => opaque,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function parseTarget(target: string): { host: string; port: number } {
  const parsed = parseHostPort(target);
  if (parsed) return parsed;
  throw new QueryCaptureError(
    'SHIPGATE_QUERIES_TARGET',
    `The query tap's target "${target}" is neither a postgres:// URL nor host:port.`,
  );
}
