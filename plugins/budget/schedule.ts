/**
 * Open-loop schedules. Rates are piecewise linear in time: a stage goes from `from` to `to`
 * requests per second over `durationUs`. The k-th request (k = 0, 1, …) is scheduled at the
 * instant the integral of the rate reaches k, so a constant rate gives arrivals exactly 1/rate
 * apart, and a ramp spaces them by the instantaneous rate. Nothing is bunched per second.
 */

export interface RateStage {
  durationUs: number;
  /** Requests per second at the start of the stage. */
  from: number;
  /** Requests per second at the end of the stage. */
  to: number;
}

/** Scheduled send offsets in µs from the start, ascending. */
export function arrivalTimesUs(stages: readonly RateStage[]): Float64Array {
  let expected = 0;
  for (const s of stages) expected += ((s.from + s.to) / 2) * (s.durationUs / 1e6);
  const out = new Float64Array(Math.ceil(expected + stages.length + 1));
  let n = 0;
  let stageStartUs = 0;
  let countAtStageStart = 0; // the integral of the rate up to the stage start (fractional)
  for (const s of stages) {
    const d = s.durationUs / 1e6; // seconds
    const b = s.from; // N(t) = b·t + a·t², t in seconds since the stage start
    const a = (s.to - s.from) / (2 * d);
    const stageCount = b * d + a * d * d;
    // Next integer arrival index not yet placed.
    for (let k = Math.ceil(countAtStageStart - 1e-9); k < countAtStageStart + stageCount - 1e-9; k++) {
      const m = k - countAtStageStart; // arrivals into this stage, solve a·t² + b·t − m = 0
      // The rationalised root 2m / (b + √(b² + 4am)) is stable for a ≈ 0 and for b = 0.
      const disc = Math.max(0, b * b + 4 * a * m);
      const denom = b + Math.sqrt(disc);
      const t = m === 0 ? 0 : denom > 0 ? (2 * m) / denom : Math.sqrt(m / a);
      if (n === out.length) break;
      out[n++] = stageStartUs + t * 1e6;
    }
    stageStartUs += s.durationUs;
    countAtStageStart += stageCount;
  }
  return out.subarray(0, n);
}

export interface VuStage {
  durationUs: number;
  from: number;
  to: number;
}

/** Target number of VUs at `tUs` (linear within a stage, rounded); 0 after the last stage. */
export function vuTargetAt(stages: readonly VuStage[], tUs: number): number {
  let start = 0;
  for (const s of stages) {
    if (tUs < start + s.durationUs) {
      const f = s.durationUs > 0 ? (tUs - start) / s.durationUs : 1;
      return Math.round(s.from + (s.to - s.from) * f);
    }
    start += s.durationUs;
  }
  return 0;
}

/** Converts `{ start, stages: [{ durationMs, target }] }` into from/to stages in µs. */
export function toStages(
  start: number,
  stages: readonly { durationMs: number; target: number }[],
): { durationUs: number; from: number; to: number }[] {
  let from = start;
  return stages.map((s) => {
    const out = { durationUs: s.durationMs * 1000, from, to: s.target };
    from = s.target;
    return out;
  });
}
