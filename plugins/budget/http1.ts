import net from 'node:net';
import tls from 'node:tls';
import { REQUEST_ERROR, type WireRequest } from './wire.ts';

/**
 * The load generator's HTTP/1.1 client: one keep-alive connection, one request at a time, over
 * `net`/`tls` sockets. It is the hot path of the burst and open-loop engines (tens of thousands
 * of requests a second on one core), so it does only what a load generator needs:
 * - requests are prepared bytes ({@link RequestBytes}); per request only the 16 hex digits of
 *   the sequence number in its `traceparent` are written;
 * - a response is read for its status, `Server-Timing`, `Connection: close` and
 *   `Keep-Alive: timeout`, and its body is skipped by `Content-Length`, chunked encoding or
 *   the end of the connection, without being copied;
 * - a socket that closes or fails while a request is open fails that request (connection
 *   error); the next request opens a new socket. A connection idle for longer than the
 *   server's announced keep-alive timeout (less a second) is reopened before it is reused,
 *   so a server closing idle sockets does not show up as errors.
 * Timeouts are the engine's: it calls {@link Http1Connection.expire} on requests open too long.
 */

/**
 * One request, prepared: its head up to the trace digits and after them, as "binary" strings
 * (each char one byte: UTF-8 bytes kept as they are), and its body. A request is written as one
 * latin1 string (no Buffer per request), and its body, when it has one, in the same write batch.
 */
export interface RequestBytes {
  before: string;
  after: string;
  body?: Buffer;
  /** A HEAD request: its response has no body. */
  head: boolean;
}

/** Prepares `r` for `origin`, with `traceparent: 00-<salt><seq>-<seq>-01`. */
export function requestBytes(origin: URL, r: WireRequest, traceSalt: string): RequestBytes {
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${origin.host}`];
  for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`);
  if (body) lines.push(`Content-Length: ${body.length}`);
  const binary = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  return {
    before: binary(`${lines.join('\r\n')}\r\ntraceparent: 00-${traceSalt}`),
    after: '-01\r\n\r\n',
    body,
    head: r.method.toUpperCase() === 'HEAD',
  };
}

/** The head of `t` carrying sequence number `seq`, as a latin1 string. */
export function stamp(t: RequestBytes, seq: number): string {
  const hex = seq.toString(16).padStart(16, '0');
  return `${t.before}${hex}-${hex}${t.after}`;
}

/** Called once per request: error class, HTTP status (0 without a response), raw `Server-Timing` or undefined. */
export type OnResponse = (error: number, status: number, serverTiming: string | undefined) => void;

const LF = 10;
const HEAD_MAX = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const READ_BUFFER = Buffer.alloc(64 * 1024);

/** How the body ends. */
const Body = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const;
/** Where a chunked body's reader is. */
const Chunk = { Size: 0, Data: 1, DataEnd: 2, Trailer: 3 } as const;

export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  servername?: string;
}

/** Where `origin` connects. */
export function endpointOf(origin: URL): Endpoint {
  const secure = origin.protocol === 'https:';
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: Number(origin.port || (secure ? 443 : 80)),
    tls: secure,
    servername: secure && net.isIP(host) === 0 ? host : undefined,
  };
}

export class Http1Connection {
  private socket: net.Socket | undefined;
  private connected = false;
  private pendingWrite: { text: string; body: Buffer | undefined } | undefined;
  private done: OnResponse | undefined;
  private expectHead = false;
  /** When the open request was sent, µs on the engine's clock; for its timeout sweep. */
  openedAtUs = 0;
  private lastUsedMs = 0;
  private keepAliveMs = Number.POSITIVE_INFINITY;

  // Response parser state.
  private head: Buffer | undefined;
  private status = 0;
  private serverTiming: string | undefined;
  private closeAfter = false;
  private body: number = Body.None;
  private remaining = 0;
  private chunk: number = Chunk.Size;
  private sizeLine = '';
  private trailerLine = 0;

  private readonly endpoint: Endpoint;

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
  }

  /** Whether a request is open. */
  get busy(): boolean {
    return this.done !== undefined;
  }

  /** Sends request `t` with sequence number `seq` and calls `done` once with its outcome. One request at a time. */
  send(t: RequestBytes, seq: number, openedAtUs: number, done: OnResponse): void {
    this.done = done;
    this.expectHead = t.head;
    this.openedAtUs = openedAtUs;
    this.resetResponse();
    if (this.socket && this.keepAliveMs !== Number.POSITIVE_INFINITY && Date.now() - this.lastUsedMs > this.keepAliveMs)
      this.drop();
    if (!this.socket) this.open();
    const text = stamp(t, seq);
    if (this.connected) this.write(this.socket as net.Socket, text, t.body);
    else this.pendingWrite = { text, body: t.body };
  }

  private write(socket: net.Socket, text: string, body: Buffer | undefined): void {
    if (!body) {
      socket.write(text, 'latin1');
      return;
    }
    socket.cork();
    socket.write(text, 'latin1');
    socket.write(body);
    socket.uncork();
  }

  /** Fails the open request as timed out and closes the socket. */
  expire(): void {
    if (!this.done) return;
    this.drop();
    this.finish(REQUEST_ERROR.timeout);
  }

  /** Closes the socket; an open request fails as a lost connection. */
  close(): void {
    this.drop();
    if (this.done) this.finish(REQUEST_ERROR.lost);
  }

  private open(): void {
    const e = this.endpoint;
    // Plain sockets read into one buffer shared by every connection of this thread (`onread`:
    // no Buffer and no stream 'data' event per response); a response is parsed before the next
    // read, and what must outlive the read (an incomplete head) is copied.
    const socket = e.tls
      ? tls.connect({ host: e.host, port: e.port, servername: e.servername })
      : net.connect({
          host: e.host,
          port: e.port,
          onread: {
            buffer: READ_BUFFER,
            callback: (n: number, buf: Buffer) => {
              if (this.socket === socket) this.onData(buf.subarray(0, n));
              return true;
            },
          },
        });
    socket.setNoDelay(true);
    this.socket = socket;
    this.connected = false;
    this.keepAliveMs = Number.POSITIVE_INFINITY;
    socket.once(e.tls ? 'secureConnect' : 'connect', () => {
      if (this.socket !== socket) return;
      this.connected = true;
      const w = this.pendingWrite;
      this.pendingWrite = undefined;
      if (w) this.write(socket, w.text, w.body);
    });
    if (e.tls) {
      socket.on('data', (chunk: Buffer) => {
        if (this.socket === socket) this.onData(chunk);
      });
    }
    const gone = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.connected = false;
      this.pendingWrite = undefined;
      if (!this.done) return;
      // A body delimited by the end of the connection is complete now.
      if (this.body === Body.UntilClose && this.status !== 0 && !this.head) this.finish(REQUEST_ERROR.none);
      else this.finish(REQUEST_ERROR.connection);
    };
    socket.on('end', gone);
    socket.on('close', gone);
    socket.on('error', gone);
  }

  private drop(): void {
    const s = this.socket;
    this.socket = undefined;
    this.connected = false;
    this.pendingWrite = undefined;
    s?.destroy();
  }

  private resetResponse(): void {
    this.head = undefined;
    this.status = 0;
    this.serverTiming = undefined;
    this.closeAfter = false;
    this.body = Body.None;
    this.remaining = 0;
    this.chunk = Chunk.Size;
    this.sizeLine = '';
    this.trailerLine = 0;
  }

  private finish(error: number): void {
    const done = this.done;
    if (!done) return;
    this.done = undefined;
    this.lastUsedMs = Date.now();
    if (error === REQUEST_ERROR.none && this.closeAfter) this.drop();
    done(error, this.status, this.serverTiming);
  }

  private onData(chunk: Buffer): void {
    if (!this.done) return; // nothing asked for: ignore (a server may send a late 408 and close)
    let at = 0;
    while (at < chunk.length && this.done) {
      if (this.status === 0) {
        at = this.readHead(chunk, at);
        if (at < 0) return;
        continue;
      }
      at = this.readBody(chunk, at);
    }
  }

  /** Reads the status line and headers; returns the offset after them, or -1 when more bytes are needed. */
  private readHead(chunk: Buffer, from: number): number {
    const kept = this.head;
    if (!kept) {
      const end = chunk.indexOf(HEAD_END, from);
      if (end >= 0) {
        this.parseHead(chunk, from, end);
        return end + 4;
      }
      return this.keepHead(Buffer.from(chunk.subarray(from)));
    }
    const buf = Buffer.concat([kept, chunk.subarray(from)]);
    const end = buf.indexOf(HEAD_END, Math.max(0, kept.length - 3));
    if (end < 0) return this.keepHead(buf);
    this.head = undefined;
    this.parseHead(buf, 0, end);
    return from + end + 4 - kept.length;
  }

  /** Keeps an incomplete head for the next chunk (-1), or fails a head that is too long. */
  private keepHead(buf: Buffer): number {
    if (buf.length > HEAD_MAX) {
      this.head = undefined;
      this.drop();
      this.finish(REQUEST_ERROR.other);
      return -1;
    }
    this.head = buf;
    return -1;
  }

  private parseHead(buf: Buffer, start: number, end: number): void {
    // "HTTP/1.1 200 OK": the status from its digits, without decoding the line.
    const code =
      (buf[start + 9] as number) * 100 + (buf[start + 10] as number) * 10 + (buf[start + 11] as number) - 5328;
    if (buf[start + 4] !== 47 || !(code >= 100 && code <= 999)) {
      this.drop();
      this.finish(REQUEST_ERROR.other);
      return;
    }
    // HTTP/1.0 closes after the response unless it says keep-alive.
    let keep = buf[start + 7] !== 48;
    let length = -1;
    let chunked = false;
    let line = buf.indexOf(LF, start) + 1;
    while (line > 0 && line < end) {
      let eol = buf.indexOf(LF, line);
      if (eol < 0 || eol > end) eol = end;
      // Header names are matched byte by byte (ASCII, any case): only the few read here.
      const first = (buf[line] as number) | 0x20;
      if (first === 99 && named(buf, line, eol, CONTENT_LENGTH)) {
        length = digits(buf, line + CONTENT_LENGTH.length + 1, eol);
      } else if (first === 99 && named(buf, line, eol, CONNECTION)) {
        const v = value(buf, line + CONNECTION.length, eol);
        if (/close/i.test(v)) keep = false;
        else if (/keep-alive/i.test(v)) keep = true;
      } else if (first === 116 && named(buf, line, eol, TRANSFER_ENCODING)) {
        chunked = /chunked/i.test(value(buf, line + TRANSFER_ENCODING.length, eol));
      } else if (first === 115 && named(buf, line, eol, SERVER_TIMING)) {
        const v = value(buf, line + SERVER_TIMING.length, eol);
        this.serverTiming = this.serverTiming === undefined ? v : `${this.serverTiming},${v}`;
      } else if (first === 107 && named(buf, line, eol, KEEP_ALIVE)) {
        const t = /timeout\s*=\s*(\d+)/i.exec(value(buf, line + KEEP_ALIVE.length, eol));
        if (t) this.keepAliveMs = Math.max(0, Number(t[1]) * 1000 - 1000);
      }
      line = eol + 1;
    }
    if (!keep) this.closeAfter = true;
    if (code < 200) {
      // 1xx: an interim response; the real one follows.
      this.resetResponse();
      return;
    }
    this.status = code;
    if (this.expectHead || code === 204 || code === 304) this.body = Body.None;
    else if (chunked) this.body = Body.Chunked;
    else if (length >= 0) {
      this.body = Body.Length;
      this.remaining = length;
    } else {
      this.body = Body.UntilClose;
      this.closeAfter = true;
    }
    if (this.body === Body.None || (this.body === Body.Length && length === 0)) this.finish(REQUEST_ERROR.none);
  }

  /** Skips body bytes; returns the offset after what it consumed. */
  private readBody(chunk: Buffer, at: number): number {
    switch (this.body) {
      case Body.Length: {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        if (this.remaining === 0) this.finish(REQUEST_ERROR.none);
        return at + take;
      }
      case Body.UntilClose:
        return chunk.length;
      case Body.Chunked:
        return this.readChunked(chunk, at);
      default:
        return chunk.length;
    }
  }

  private readChunked(chunk: Buffer, from: number): number {
    let at = from;
    while (at < chunk.length && this.done) {
      if (this.chunk === Chunk.Size) {
        const lf = chunk.indexOf(LF, at);
        if (lf < 0) {
          this.sizeLine += chunk.toString('latin1', at);
          return chunk.length;
        }
        this.sizeLine += chunk.toString('latin1', at, lf);
        at = lf + 1;
        const size = Number.parseInt(this.sizeLine.trim().split(';')[0] ?? '', 16);
        this.sizeLine = '';
        if (!Number.isFinite(size) || size < 0) {
          this.drop();
          this.finish(REQUEST_ERROR.other);
          return chunk.length;
        }
        if (size === 0) {
          this.chunk = Chunk.Trailer;
          this.trailerLine = 0;
        } else {
          this.remaining = size;
          this.chunk = Chunk.Data;
        }
      } else if (this.chunk === Chunk.Data) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        at += take;
        if (this.remaining === 0) {
          this.chunk = Chunk.DataEnd;
          this.remaining = 2;
        }
      } else if (this.chunk === Chunk.DataEnd) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        at += take;
        if (this.remaining === 0) this.chunk = Chunk.Size;
      } else {
        // Trailer section: lines until an empty one.
        const lf = chunk.indexOf(LF, at);
        if (lf < 0) {
          this.trailerLine += chunk.length - at;
          return chunk.length;
        }
        const lineLength = this.trailerLine + (lf - at);
        this.trailerLine = 0;
        at = lf + 1;
        if (lineLength <= 1) this.finish(REQUEST_ERROR.none);
      }
    }
    return at;
  }
}

const bytes = (name: string) => Uint8Array.from(Buffer.from(name));
const CONTENT_LENGTH = bytes('content-length');
const CONNECTION = bytes('connection');
const TRANSFER_ENCODING = bytes('transfer-encoding');
const SERVER_TIMING = bytes('server-timing');
const KEEP_ALIVE = bytes('keep-alive');

/** Whether the header line at `at` is `name:` (any case). */
function named(buf: Buffer, at: number, eol: number, name: Uint8Array): boolean {
  const n = name.length;
  if (at + n >= eol || buf[at + n] !== 58) return false;
  for (let i = 1; i < n; i++) if (((buf[at + i] as number) | 0x20) !== name[i]) return false;
  return true;
}

/** The decimal number after a header's colon (spaces around it allowed); -1 when there is none. */
function digits(buf: Buffer, from: number, eol: number): number {
  let v = -1;
  for (let i = from; i < eol; i++) {
    const c = buf[i] as number;
    if (c >= 48 && c <= 57) v = (v < 0 ? 0 : v * 10) + (c - 48);
    else if (c !== 32 && c !== 9 && c !== 13) return -1;
    else if (v >= 0 && c !== 13) break;
  }
  return v;
}

/** A header's value, from its colon to the end of the line, trimmed. */
function value(buf: Buffer, colon: number, eol: number): string {
  return buf.toString('latin1', colon + 1, eol).trim();
}

/**
 * Fails requests open longer than `timeoutMs` as timed out (their sockets are closed), checked
 * every tenth of the timeout (10–250 ms). Returns the interval, for `clearInterval`.
 */
export function sweepTimeouts(
  conns: readonly Http1Connection[],
  timeoutMs: number,
  nowUs: () => number,
): NodeJS.Timeout {
  const timeoutUs = timeoutMs * 1000;
  return setInterval(
    () => {
      const now = nowUs();
      for (const c of conns) if (c.busy && now - c.openedAtUs >= timeoutUs) c.expire();
    },
    Math.max(10, Math.min(250, timeoutMs / 10)),
  );
}
