import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** One structured log line; `createApp`'s `log` dependency receives these. */
export type LogLine = { ts: string; level: 'info' | 'warn' | 'error'; msg: string } & Record<string, unknown>;
export type Log = (line: LogLine) => void;

/** Writes the line as JSON to stdout; the default `log` of `createApp`. */
export const stdoutLog: Log = (line) => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

export interface Traceparent {
  version: string;
  traceId: string;
  parentId: string;
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Parses a W3C `traceparent` header (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`).
 * Returns undefined for anything invalid: wrong shape, upper-case hex, version ff, all-zero ids,
 * or trailing fields on version 00 (later versions may append fields, which are ignored).
 */
export function parseTraceparent(header: string | undefined): Traceparent | undefined {
  const m = header ? TRACEPARENT.exec(header.trim()) : null;
  if (!m) return undefined;
  const [, version = '', traceId = '', parentId = '', flags = '', rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { version, traceId, parentId, flags };
}

/** Keeps `[A-Za-z0-9._:-]` of an incoming `x-request-id`, at most 128 characters; undefined if nothing is left. */
export function sanitizeRequestId(value: string | undefined): string | undefined {
  const clean = value?.replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 128);
  return clean ? clean : undefined;
}

/** A new 16-byte trace id or 8-byte span id, lower-case hex, never all zeros. */
export function randomHexId(bytes: 16 | 8): string {
  for (;;) {
    const id = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(id)) return id;
  }
}

const TRACE_ID = Symbol('traceId');
type Traced = Response & { [TRACE_ID]?: string; locals: { error?: unknown } };

/** The trace id `traceMiddleware` assigned to this response ('' before it ran). */
export function traceIdOf(res: Response): string {
  return (res as Traced)[TRACE_ID] ?? '';
}

/**
 * Assigns each request a trace id (incoming traceparent's, else a sanitised x-request-id, else a
 * new one), echoes it in `x-request-id` (and `traceparent` with a new span id when the id is a
 * W3C one), adds `Server-Timing: app;dur=<ms>`, and logs one line per request when it ends.
 * An error the error handler stored in `res.locals.error` is added to that line.
 */
export function traceMiddleware(log: Log = stdoutLog): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    const parent = parseTraceparent(req.get('traceparent'));
    const requestId = parent ? undefined : sanitizeRequestId(req.get('x-request-id'));
    const traceId = parent?.traceId ?? requestId ?? randomHexId(16);
    (res as Traced)[TRACE_ID] = traceId;
    res.setHeader('x-request-id', traceId);
    if (!requestId) res.setHeader('traceparent', `00-${traceId}-${randomHexId(8)}-01`);

    // Server-Timing must go out with the headers, which are written on the first write/end;
    // wrapping writeHead (as the on-headers package does) catches both explicit and implicit
    // calls, so the value covers everything up to the first body byte.
    const writeHead = res.writeHead;
    res.writeHead = function (this: Response, ...args: unknown[]) {
      if (!this.headersSent) this.setHeader('Server-Timing', `app;dur=${elapsedMs(start)}`);
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as Response['writeHead'];

    // Body bytes actually written (not headers); Content-Length would miss streamed responses.
    let bytes = 0;
    const count = (chunk: unknown, encoding: unknown): void => {
      if (typeof chunk === 'string')
        bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
      else if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
    };
    const write = res.write;
    res.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
      count(chunk, rest[0]);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Response['write'];
    const end = res.end;
    res.end = function (this: Response, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk !== 'function') count(chunk, rest[0]);
      return (end as (...a: unknown[]) => Response).call(this, chunk, ...rest);
    } as Response['end'];

    let logged = false;
    const done = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const status = res.statusCode;
      const error = (res as Traced).locals.error;
      log({
        ts: new Date().toISOString(),
        level: status >= 500 || error ? 'error' : status >= 400 || aborted ? 'warn' : 'info',
        msg: 'request',
        traceId,
        method: req.method,
        path: routePattern(req),
        status,
        durationMs: elapsedMs(start),
        bytes,
        ...(aborted ? { aborted: true } : {}),
        ...(error ? { error: errorFields(error) } : {}),
      });
    };
    res.once('finish', () => done(false));
    // 'close' without 'finish': the client went away before the response was complete.
    res.once('close', () => done(!res.writableFinished));
    next();
  };
}

/** Milliseconds since `start` (hrtime ns), rounded to 3 decimals only for output. */
function elapsedMs(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e3) / 1e3;
}

// The matched route pattern (`/api/tickets/:id`) keeps log cardinality low; unmatched requests
// (404s) fall back to the raw path without the query string.
function routePattern(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? `${req.baseUrl}${route.path}` : req.path;
}

function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(code ? { code } : {}), stack: error.stack };
}
