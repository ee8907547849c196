/**
 * Percentiles by the nearest-rank method on unrounded samples: the p-th percentile is the
 * smallest sample such that at least p% of samples are ≤ it (sorted[ceil(p/100·n) − 1]).
 * Samples are in whatever unit the caller measured; shipgate measures microseconds.
 */
export function percentile(sortedAsc: readonly number[], p: number): number {
  if (sortedAsc.length === 0) return Number.NaN;
  if (p <= 0) return sortedAsc[0] as number;
  const rank = Math.ceil((p / 100) * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length, rank) - 1] as number;
}

/** Summary of a sample set: n, min, p50, p95, p99, max, mean (same unit as the input). */
export function summarize(samples: readonly number[]): {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
} {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
    mean,
  };
}
