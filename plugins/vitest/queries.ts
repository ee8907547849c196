import type pg from 'pg';
import { expect } from 'vitest';
import {
  type AllowedShape,
  briefShape,
  checkPlans,
  DEFAULT_MIN_ROWS,
  formatPlanProblems,
  formatShapes,
  type RequestQueries,
  repeatedMessage,
  repeatedShapes,
  requestName,
} from '../queries/index.ts';

/**
 * Query assertions in Vitest, on a response from shipgate's `request` fixture:
 *
 *   const res = await request.get('/api/tickets');
 *   expect(res).toRunQueries(2);
 *   expect(res).toRunAtMostQueries(3);
 *   expect(res).toHaveNoRepeatedQueries();
 *
 * Counts leave out transaction control and session settings (so they are the same in every
 * isolation mode). The statements are read on the wire (plugins/queries), below any ORM.
 */

/** A request's query figures as the report keeps them (`task.meta.shipgateQueries`). */
export interface RequestQueriesSummary {
  label: string;
  traceId: string;
  count: number;
  /** The most-run shapes (at most 5). */
  shapes: { shape: string; count: number }[];
  /** Shapes run more than once that were not allowed. */
  repeated: { shape: string; count: number }[];
  ambiguous: number;
}

/** What the query check stored on a test. */
export interface QueriesTaskMeta {
  /** `on`: every request was checked for repeated shapes; `off`: with the reason. */
  check: 'on' | 'off';
  reason?: string;
  /** Shapes allowed to repeat, with why. */
  allowed: { match: string; reason?: string }[];
  requests: RequestQueriesSummary[];
}

/** What `queryScaling` measured: the requests at each scale, and the shapes that grew with the rows. */
export interface QueryScaling {
  runs: { rows: number; requests: RequestQueries[] }[];
  /** Shapes run more often at the largest scale than at the smallest, with their count at each scale. */
  grew: { shape: string; counts: number[] }[];
  /** The requests, as the messages name them. */
  label: string;
}

/** The shapes whose counts grew from the first scale to the last (requests of a scale pooled). */
export function scalingOf(runs: QueryScaling['runs']): QueryScaling {
  const counts = runs.map((r) => {
    const m = new Map<string, number>();
    for (const q of r.requests) for (const s of q.shapes) m.set(s.shape, (m.get(s.shape) ?? 0) + s.count);
    return m;
  });
  const shapes = new Set(counts.flatMap((m) => [...m.keys()]));
  const grew: QueryScaling['grew'] = [];
  for (const shape of shapes) {
    const each = counts.map((m) => m.get(shape) ?? 0);
    if ((each.at(-1) as number) > (each[0] as number)) grew.push({ shape, counts: each });
  }
  grew.sort((a, b) => (b.counts.at(-1) as number) - (a.counts.at(-1) as number));
  const label = [...new Set(runs.flatMap((r) => r.requests.map((q) => q.label)))].join(', ');
  return { runs, grew, label };
}

function isScaling(v: unknown): v is QueryScaling {
  return typeof v === 'object' && v !== null && 'runs' in v && 'grew' in v && Array.isArray((v as QueryScaling).grew);
}

declare module 'vitest' {
  interface TaskMeta {
    shipgateQueries?: QueriesTaskMeta;
  }
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> {
    /** Passes when the request ran exactly `n` queries (transaction control left out). */
    toRunQueries(n: number): R;
    /** Passes when the request ran at most `n` queries. */
    toRunAtMostQueries(n: number): R;
    /** Passes when no query shape ran more than once, except those `allow` matches. */
    toHaveNoRepeatedQueries(options?: { allow?: (string | RegExp)[] }): R;
    /**
     * Passes when no query of the request scans a table of `minRows` rows or more (default
     * 10,000) in full for a filter or a sort; a failure names the index to add. EXPLAIN only,
     * on the test's database: await it.
     */
    toUseIndexes(options?: { minRows?: number }): Promise<R>;
    /** On a `queryScaling` result: passes when no query shape ran more often with more rows (an N+1). */
    toScaleFlat(): R;
  }
}

const captured = new WeakMap<object, { lookup: () => RequestQueries | undefined; pool: pg.Pool }>();

/** Links a response to its request's queries and to the pool its plans are explained on (the `request` fixture calls it). */
export function linkResponse(res: object, lookup: () => RequestQueries | undefined, pool: pg.Pool): void {
  captured.set(res, { lookup, pool });
}

/** The queries of a response from the `request` fixture, or undefined. */
export function queriesOf(res: unknown): RequestQueries | undefined {
  return typeof res === 'object' && res !== null ? captured.get(res)?.lookup() : undefined;
}

/** The report's summary of one request. */
export function summarise(q: RequestQueries, allow: readonly AllowedShape[]): RequestQueriesSummary {
  return {
    label: q.label,
    traceId: q.traceId,
    count: q.count,
    shapes: q.shapes.slice(0, 5),
    repeated: repeatedShapes(q, allow),
    ambiguous: q.ambiguous,
  };
}

const notCaptured = (matcher: string, received: unknown) => ({
  pass: false,
  message: () =>
    `${matcher}() expects a response from shipgate's \`request\` fixture with query capture on (SHIPGATE_QUERY_CAPTURE, config key queries.capture); got ${received === null ? 'null' : typeof received}.`,
});

const ambiguity = (q: RequestQueries) =>
  q.ambiguous
    ? ` ${q.ambiguous} more statement(s) ran while another request was in flight and could not be attributed: await each request before the next, or tag statements with a sqlcommenter traceparent.`
    : '';

const listing = (q: RequestQueries) => (q.shapes.length ? `: ${formatShapes(q.shapes, 8)}` : '');

expect.extend({
  toScaleFlat(received: unknown) {
    if (!isScaling(received)) {
      return {
        pass: false,
        message: () => `toScaleFlat() expects the result of the queryScaling fixture, got ${typeof received}.`,
      };
    }
    const rows = received.runs.map((r) => r.rows);
    const totals = received.runs.map((r) => r.requests.reduce((n, q) => n + q.count, 0));
    const grew = received.grew
      .slice(0, 5)
      .map((g) => `"${briefShape(g.shape)}" ${g.counts.map((c, i) => `${c}× at ${rows[i]} rows`).join(', ')}`);
    return {
      pass: received.grew.length === 0,
      message: () =>
        received.grew.length
          ? `Request "${received.label}" ran more queries with more rows (N+1): ${grew.join('; ')}; ${totals.map((t, i) => `${t} queries at ${rows[i]} rows`).join(', ')}.`
          : `Request "${received.label}" ran the same queries at ${rows.join(' and ')} rows (${totals.join(', ')}), expected more with more rows.`,
    };
  },
  toRunQueries(received: unknown, n: number) {
    const q = queriesOf(received);
    if (!q) return notCaptured('toRunQueries', received);
    const pass = q.count === n && q.ambiguous === 0;
    return {
      pass,
      message: () =>
        `${requestName(q)} ran ${q.count} queries, expected ${this.isNot ? 'other than ' : ''}${n}${listing(q)}.${ambiguity(q)}`,
    };
  },
  toRunAtMostQueries(received: unknown, n: number) {
    const q = queriesOf(received);
    if (!q) return notCaptured('toRunAtMostQueries', received);
    const pass = q.count <= n && q.ambiguous === 0;
    return {
      pass,
      message: () =>
        `${requestName(q)} ran ${q.count} queries, expected ${this.isNot ? 'more than' : 'at most'} ${n}${listing(q)}.${ambiguity(q)}`,
    };
  },
  async toUseIndexes(received: unknown, options: { minRows?: number } = {}) {
    const link = typeof received === 'object' && received !== null ? captured.get(received) : undefined;
    const q = link?.lookup();
    if (!link || !q) return notCaptured('toUseIndexes', received);
    const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
    const check = await checkPlans(link.pool, q.statements, { minRows });
    const bad = check.queries.filter((x) => x.problems.length);
    const skipped = check.notExplained.length
      ? ` ${check.notExplained.length} shape(s) not explained: ${check.notExplained.map((x) => x.reason).join('; ')}.`
      : '';
    return {
      pass: bad.length === 0,
      message: () =>
        bad.length
          ? `${requestName(q)} has plans that scan a table of ${minRows.toLocaleString('en-US')} rows or more in full:\n${formatPlanProblems(bad)}${skipped}`
          : `${requestName(q)}: no plan scans a table of ${minRows.toLocaleString('en-US')} rows or more in full (${check.queries.length} shapes explained), expected one to.${skipped}`,
    };
  },
  toHaveNoRepeatedQueries(received: unknown, options: { allow?: (string | RegExp)[] } = {}) {
    const q = queriesOf(received);
    if (!q) return notCaptured('toHaveNoRepeatedQueries', received);
    const repeated = repeatedShapes(
      q,
      (options.allow ?? []).map((match) => ({ match })),
    );
    return {
      pass: repeated.length === 0,
      message: () =>
        repeated.length
          ? repeatedMessage(q, repeated)
          : `${requestName(q)} ran no query shape twice (${q.count} queries), expected repeats.`,
    };
  },
});
