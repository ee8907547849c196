import type { Endpoint, RequestInit } from './slo.ts';
import type { WireRequest } from './wire.ts';

/** Requests prepared for closed-loop runs, whose request count is not known in advance. */
export const CLOSED_LOOP_POOL = 20_000;

function toWire(endpoint: Endpoint, init: RequestInit | undefined): WireRequest {
  const method = init?.method ?? endpoint.method;
  const path = init?.path ?? endpoint.path;
  const headers: Record<string, string> = { ...endpoint.headers, ...init?.headers };
  const raw = init && 'body' in init ? init.body : endpoint.body;
  let body: string | undefined;
  if (raw !== undefined && raw !== null) {
    if (typeof raw === 'string') body = raw;
    else {
      body = JSON.stringify(raw);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    }
  }
  return { method, path, headers, body };
}

/**
 * Builds requests `from`…`from + count − 1` of an endpoint: the static request, or the
 * factory's `request(i)` merged over the endpoint's defaults. Runs in the test process,
 * before the load starts.
 */
export function buildRequests(endpoint: Endpoint, from: number, count: number): WireRequest[] {
  if (!endpoint.request) return [toWire(endpoint, undefined)];
  const out: WireRequest[] = new Array(count);
  for (let k = 0; k < count; k++) out[k] = toWire(endpoint, endpoint.request(from + k));
  return out;
}

/** Whether `status` counts as success for the endpoint (default 2xx/3xx). */
export function statusOk(endpoint: Endpoint): (status: number) => boolean {
  if (endpoint.expectStatus === undefined) return (s) => s >= 200 && s < 400;
  const allowed = new Set([endpoint.expectStatus].flat());
  return (s) => allowed.has(s);
}
