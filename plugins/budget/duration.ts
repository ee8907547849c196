/**
 * Durations in SLOs: a number of milliseconds, or a string with a unit (`250ms`, `1.5s`, `2m`,
 * `1h`, and k6-style compounds such as `1m30s`).
 */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)/y;

/** Parses a {@link Duration} into milliseconds; returns NaN for anything it cannot read. */
export function toMs(d: Duration): number {
  if (typeof d === 'number') return Number.isFinite(d) ? d : Number.NaN;
  if (typeof d !== 'string') return Number.NaN;
  const s = d.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = PART.lastIndex;
  }
  return matched === s.length && matched > 0 ? total : Number.NaN;
}

/** Formats milliseconds as a k6/Go duration string: whole seconds as `30s`, else `1500ms`. */
export function k6Duration(ms: number): string {
  const rounded = Math.round(ms);
  return rounded % 1000 === 0 ? `${rounded / 1000}s` : `${rounded}ms`;
}

/** Human-readable milliseconds for messages: `412 ms`, `1.52 s`, `0.843 ms`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}
