import { ShipgateError } from '../core/errors.ts';
import type { RequestQueries } from './ledger.ts';

/** A query check failed: repeated shapes, a count over its limit, or a count that grows with the data. */
export class QueryCheckError extends ShipgateError {}

/**
 * Which shapes may repeat: a substring of the shape, or a regular expression (`/…/flags` in a
 * string, as config and `provide`/`inject` carry only JSON), with the reason it is allowed.
 */
export interface AllowedShape {
  match: string | RegExp;
  reason?: string;
}

/** `/re/flags` strings become RegExps; anything else matches as a substring. */
export function toMatcher(match: string | RegExp): (shape: string) => boolean {
  if (match instanceof RegExp) return (s) => match.test(s);
  const re = /^\/(.+)\/([a-z]*)$/.exec(match);
  if (re) {
    const r = new RegExp(re[1] as string, re[2]);
    return (s) => r.test(s);
  }
  return (s) => s.includes(match);
}

/** The shapes `q` ran more than once that no `allow` entry matches, most-run first. */
export function repeatedShapes(
  q: RequestQueries,
  allow: readonly AllowedShape[] = [],
): { shape: string; count: number }[] {
  const matchers = allow.map((a) => toMatcher(a.match));
  return q.shapes.filter((s) => s.count > 1 && !matchers.some((m) => m(s.shape)));
}

const MAX_SHAPE = 200;
const MAX_COLUMNS = 40;

/** A shape as messages print it: a long select list as `…` (the table and filter matter), clipped. */
export function briefShape(shape: string): string {
  const m = /^(SELECT\s+(?:DISTINCT\s+)?)(.+?)(\s+FROM\s[\s\S]*)$/i.exec(shape);
  const short = m && (m[2] as string).length > MAX_COLUMNS ? `${m[1]}…${m[3]}` : shape;
  return short.length > MAX_SHAPE ? `${short.slice(0, MAX_SHAPE - 1)}…` : short;
}

/** `"SELECT …" 20×, "SELECT …" 3×`: shapes and counts for a message. */
export function formatShapes(shapes: readonly { shape: string; count: number }[], max = 5): string {
  const shown = shapes.slice(0, max).map((s) => `"${briefShape(s.shape)}" ${s.count}×`);
  const more = shapes.length > max ? ` and ${shapes.length - max} more` : '';
  return `${shown.join(', ')}${more}`;
}

/** `Request "GET /x" (trace 4bf9…)`: how messages name a request. */
export function requestName(q: RequestQueries): string {
  return `Request "${q.label}" (trace ${q.traceId.slice(0, 8)}…)`;
}

/** The message for a request whose shapes repeat. */
export function repeatedMessage(q: RequestQueries, repeated: readonly { shape: string; count: number }[]): string {
  return `${requestName(q)} ran the same query shape more than once (N+1): ${formatShapes(repeated)}; ${q.count} queries in all.`;
}
