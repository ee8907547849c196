import { randomBytes } from 'node:crypto';
import type { CapturedStatement, QueryTap } from './wire-tap.ts';

/** The statements one request ran, as attributed by a {@link RequestLedger}. */
export interface RequestQueries {
  traceId: string;
  /** What was requested, e.g. `GET /api/tickets`. */
  label: string;
  /** Statements run, transaction control and session settings left out. */
  count: number;
  statements: CapturedStatement[];
  /** Each shape run, most-run first (ties by first run). */
  shapes: { shape: string; count: number }[];
  /**
   * Statements that arrived while another request was also in flight and carried no trace
   * tag: they cannot be told apart, so they are counted for neither.
   */
  ambiguous: number;
}

interface Window {
  traceId: string;
  label: string;
  start: number;
  end: number;
}

/** A W3C `traceparent` header value for `traceId` (a fresh span id, sampled). */
export function traceparentFor(traceId: string): string {
  return `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

/** A fresh 32-hex trace id. */
export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Which request caused each statement a tap saw, by an ordered list of rules:
 * 1. a statement carrying a trace tag (sqlcommenter `traceparent`) is that request's, exact
 *    whatever else is in flight and in whatever process the app runs;
 * 2. otherwise, the one request that was in flight when the tap read it (the app runs in this
 *    process, as with supertest, and the test awaits its requests);
 * 3. otherwise (none in flight, or several) it is nobody's: a test's own setup queries, work
 *    the app left running after it answered, or overlapping requests (counted as ambiguous).
 * A request still in flight counts as open until it ends.
 */
export class RequestLedger {
  readonly #tap: QueryTap;
  readonly #windows: Window[] = [];

  constructor(tap: QueryTap) {
    this.#tap = tap;
  }

  /** Marks a request as sent; returns its window's trace id (`traceId`, or a fresh one). */
  begin(label: string, traceId: string = newTraceId()): string {
    this.#windows.push({ traceId, label, start: performance.now(), end: Number.POSITIVE_INFINITY });
    return traceId;
  }

  /** Marks the request `traceId` as answered (or failed). */
  end(traceId: string): void {
    const w = this.#windows.findLast((x) => x.traceId === traceId && x.end === Number.POSITIVE_INFINITY);
    if (w) w.end = performance.now();
  }

  /** The requests so far, in the order they were sent. */
  requests(): RequestQueries[] {
    const byTrace = new Map<string, RequestQueries>();
    for (const w of this.#windows) {
      byTrace.set(w.traceId, {
        traceId: w.traceId,
        label: w.label,
        count: 0,
        statements: [],
        shapes: [],
        ambiguous: 0,
      });
    }
    const all = this.#tap.statements();
    // Statements are in the order they were read (`at` never decreases): those before this
    // ledger's first request are nobody's (a request's statements come after it was sent).
    const first = this.#windows[0]?.start ?? Number.POSITIVE_INFINITY;
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((all[mid] as CapturedStatement).at < first) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < all.length; i++) {
      const s = all[i] as CapturedStatement;
      if (s.tag !== undefined) {
        byTrace.get(s.tag)?.statements.push(s);
        continue;
      }
      const open = this.#windows.filter((w) => w.start <= s.at && s.at <= w.end);
      if (open.length === 1) byTrace.get((open[0] as Window).traceId)?.statements.push(s);
      else if (open.length > 1 && !s.control)
        for (const w of open) (byTrace.get(w.traceId) as RequestQueries).ambiguous++;
    }
    for (const q of byTrace.values()) {
      q.statements = q.statements.filter((s) => !s.control);
      q.count = q.statements.length;
      const counts = new Map<string, number>();
      for (const s of q.statements) counts.set(s.shape, (counts.get(s.shape) ?? 0) + 1);
      q.shapes = [...counts].map(([shape, count]) => ({ shape, count })).sort((a, b) => b.count - a.count);
    }
    return [...byTrace.values()];
  }

  /** The statements of request `traceId` (undefined when no such request was sent). */
  queriesOf(traceId: string): RequestQueries | undefined {
    return this.requests().find((q) => q.traceId === traceId);
  }
}
