import type { Dispatcher, Pool } from 'undici';
import { parseServerTimingUs } from './recorder.ts';
import { REQUEST_ERROR, type WireRequest } from './wire.ts';

/** Maps an undici/socket error to a {@link REQUEST_ERROR} code. */
export function classify(err: unknown): number {
  const code = String((err as { code?: unknown })?.code ?? '');
  if (/TIMEOUT/i.test(code)) return REQUEST_ERROR.timeout;
  if (/ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED|ENOTFOUND|EHOSTUNREACH/.test(code)) {
    return REQUEST_ERROR.connection;
  }
  return REQUEST_ERROR.other;
}

/**
 * Sends one request on `pool` with a W3C `traceparent` carrying `trace`, and calls `done`
 * exactly once with the error class, the status and the server's `Server-Timing` time in µs
 * (NaN when absent). The open-loop and VU engines share it; they differ only in when they send.
 */
export function dispatchOnce(
  pool: Pool,
  req: Pick<WireRequest, 'method' | 'path' | 'headers' | 'body'>,
  trace: string,
  serverTiming: string,
  done: (error: number, status: number, serverUs: number) => void,
): void {
  let status = 0;
  let serverUs = Number.NaN;
  let settled = false;
  const settle = (error: number) => {
    if (settled) return;
    settled = true;
    done(error, status, serverUs);
  };
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onResponseStart(_controller, statusCode, headers) {
      status = statusCode;
      serverUs = parseServerTimingUs(headers['server-timing'], serverTiming);
    },
    onResponseData() {},
    onResponseEnd() {
      settle(REQUEST_ERROR.none);
    },
    onResponseError(_controller, err) {
      settle(classify(err));
    },
  };
  try {
    pool.dispatch(
      {
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers: { ...req.headers, traceparent: `00-${trace}-${trace.slice(16)}-01` },
        body: req.body ?? null,
      },
      handler,
    );
  } catch (err) {
    settle(classify(err));
  }
}
