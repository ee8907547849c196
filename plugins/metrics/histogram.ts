import { type MetricFamily, MetricsError } from './exposition.ts';

/** Label filter: exact value, RegExp (tested against the whole value), or a predicate. Unlisted labels match anything. */
export type LabelMatch = Record<string, string | RegExp | ((value: string) => boolean)>;

/** A cumulative histogram: counts of observations ≤ each upper bound `le`, sorted, the last bound +Inf. */
export interface HistogramSnapshot {
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
  /** How many label series were added up. */
  series: number;
}

/** One label series of a histogram, keyed by its labels without `le`. */
interface Series {
  labels: Record<string, string>;
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

function matchesLabels(labels: Record<string, string>, match: LabelMatch): boolean {
  for (const [k, want] of Object.entries(match)) {
    const v = labels[k];
    if (v === undefined) return false;
    if (
      typeof want === 'string'
        ? v !== want
        : want instanceof RegExp
          ? !new RegExp(`^(?:${want.source})$`, want.flags).test(v)
          : !want(v)
    ) {
      return false;
    }
  }
  return true;
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The label series of histogram `name` that match, by series key. */
export function histogramSeries(
  families: Map<string, MetricFamily>,
  name: string,
  match: LabelMatch = {},
  source = 'the scrape',
): Map<string, Series> {
  const family = families.get(name);
  if (!family) {
    const histograms = [...families.values()].filter((f) => f.type === 'histogram').map((f) => f.name);
    throw new MetricsError(
      'SHIPGATE_METRICS_MISSING',
      `No histogram "${name}" in ${source} (histograms there: ${histograms.join(', ') || 'none'}).`,
      { hint: 'Expose it with prom-client (see docs/chaos-and-metrics.md) or pass the right metric name.' },
    );
  }
  if (family.type !== 'histogram') {
    throw new MetricsError(
      'SHIPGATE_METRICS_TYPE',
      `Metric "${name}" in ${source} is a ${family.type}, not a histogram.`,
    );
  }
  const out = new Map<string, Series>();
  const get = (labels: Record<string, string>) => {
    const key = seriesKey(labels);
    let s = out.get(key);
    if (!s) {
      s = { labels, buckets: new Map(), sum: 0, count: 0 };
      out.set(key, s);
    }
    return s;
  };
  for (const sample of family.samples) {
    const { le, ...labels } = sample.labels;
    if (!matchesLabels(labels, match)) continue;
    if (sample.name === `${name}_bucket`) {
      const bound = le === undefined ? Number.NaN : le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      if (Number.isNaN(bound)) {
        throw new MetricsError(
          'SHIPGATE_METRICS_PARSE',
          `Bucket of "${name}" in ${source} has le="${le}", not a number.`,
        );
      }
      get(labels).buckets.set(bound, sample.value);
    } else if (sample.name === `${name}_sum`) get(labels).sum = sample.value;
    else if (sample.name === `${name}_count`) get(labels).count = sample.value;
  }
  return out;
}

/** Adds up series that share their bucket bounds (as PromQL `sum by (le)` does). */
export function sumSeries(series: Iterable<Series>, name: string): HistogramSnapshot {
  let bounds: number[] | undefined;
  const totals = new Map<number, number>();
  let sum = 0;
  let count = 0;
  let n = 0;
  for (const s of series) {
    const les = [...s.buckets.keys()].sort((a, b) => a - b);
    if (!bounds) bounds = les;
    else if (les.length !== bounds.length || les.some((b, i) => b !== bounds?.[i])) {
      throw new MetricsError(
        'SHIPGATE_METRICS_BUCKETS',
        `Series of "${name}" have different buckets (${bounds.join(',')} vs ${les.join(',')}); they cannot be added up.`,
        { hint: 'Narrow the label match to series with the same buckets.' },
      );
    }
    for (const le of les) totals.set(le, (totals.get(le) ?? 0) + (s.buckets.get(le) ?? 0));
    sum += s.sum;
    count += s.count;
    n += 1;
  }
  const buckets = (bounds ?? []).map((le) => ({ le, count: totals.get(le) ?? 0 }));
  if (buckets.length > 0 && buckets.at(-1)?.le !== Number.POSITIVE_INFINITY) {
    throw new MetricsError('SHIPGATE_METRICS_BUCKETS', `Histogram "${name}" has no +Inf bucket.`);
  }
  return { buckets, count, sum, series: n };
}

/**
 * What was observed between two scrapes of one histogram: per-series deltas, added up. A series
 * that is new in `after` counts from zero; a series whose count went down means the process
 * restarted between the scrapes (counters reset), and the window cannot be measured.
 */
export function diffSeries(before: Map<string, Series>, after: Map<string, Series>, name: string): HistogramSnapshot {
  const deltas: Series[] = [];
  for (const [key, a] of after) {
    const b = before.get(key);
    const buckets = new Map<number, number>();
    for (const [le, c] of a.buckets) buckets.set(le, c - (b?.buckets.get(le) ?? 0));
    const d: Series = { labels: a.labels, buckets, sum: a.sum - (b?.sum ?? 0), count: a.count - (b?.count ?? 0) };
    if (d.count < 0 || [...buckets.values()].some((c) => c < 0)) {
      throw new MetricsError(
        'SHIPGATE_METRICS_RESET',
        `Histogram "${name}" ${JSON.stringify(a.labels)} went down between the scrapes (count ${b?.count} → ${a.count}): the app restarted, so the window cannot be measured.`,
        { hint: 'Re-run the measurement; keep the app up between the two scrapes.' },
      );
    }
    deltas.push(d);
  }
  for (const [key, b] of before) {
    if (!after.has(key)) {
      throw new MetricsError(
        'SHIPGATE_METRICS_RESET',
        `Histogram "${name}" ${JSON.stringify(b.labels)} disappeared between the scrapes: the app restarted.`,
      );
    }
  }
  return sumSeries(deltas, name);
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of a cumulative histogram, as PromQL's `histogram_quantile`: find
 * the bucket holding rank q·count, then interpolate linearly between its lower and upper bound
 * (the lower bound of the first bucket is 0). So the answer is exact only at bucket bounds; its
 * error is at most that bucket's width. A rank in the +Inf bucket returns the highest finite
 * bound. NaN when the histogram is empty. Same unit as the bounds.
 */
export function histogramQuantile(h: HistogramSnapshot, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new MetricsError('SHIPGATE_METRICS_QUANTILE', `Quantile ${q} is outside 0..1.`);
  const { buckets } = h;
  const total = buckets.at(-1)?.count ?? 0;
  if (buckets.length < 2 || total === 0) return Number.NaN;
  const rank = q * total;
  let i = buckets.findIndex((b) => b.count >= rank);
  if (i < 0) i = buckets.length - 1;
  const bucket = buckets[i] as { le: number; count: number };
  if (bucket.le === Number.POSITIVE_INFINITY) return (buckets[buckets.length - 2] as { le: number }).le;
  if (i === 0 && bucket.le <= 0) return bucket.le;
  const prev = i === 0 ? { le: 0, count: 0 } : (buckets[i - 1] as { le: number; count: number });
  const inBucket = bucket.count - prev.count;
  if (inBucket === 0) return prev.le;
  return prev.le + (bucket.le - prev.le) * ((rank - prev.count) / inBucket);
}

/** The bounds `[lower, upper]` of the bucket that holds the q-quantile: the interpolation's error bound. */
export function quantileBucket(h: HistogramSnapshot, q: number): [number, number] {
  const total = h.buckets.at(-1)?.count ?? 0;
  const i = h.buckets.findIndex((b) => b.count >= q * total);
  if (i < 0 || total === 0) return [Number.NaN, Number.NaN];
  return [i === 0 ? 0 : (h.buckets[i - 1]?.le ?? 0), h.buckets[i]?.le ?? Number.NaN];
}
