/**
 * Verdicts: a check is as bad as its worst finding; the run is as bad as its worst check.
 * `finalize` sets every finding's class in one order: the scale (scale.ts), then the user's
 * `severity` rules, then `allow` (UNSAFE becomes WARN), then `failOn` (a WARN or INFO finding
 * fails the run). INFO findings are shown but never raise a check above SAFE. Exit code 0 for
 * SAFE/WARN, 2 otherwise.
 */
import { applyScale, matches, type SeverityRule } from './scale.ts';
import type { CheckResult, CheckVerdict, Finding, FindingVerdict, Verdict } from './types.ts';

export { matches } from './scale.ts';

const RANK: Record<FindingVerdict, number> = { SAFE: 0, INFO: 0.5, WARN: 1, UNSAFE: 2, FAIL: 3 };

/** The worse of verdicts (SAFE for none); INFO counts as SAFE. */
export function worst(verdicts: Iterable<FindingVerdict>): Verdict {
  let w: Verdict = 'SAFE';
  for (const v of verdicts) if (v !== 'INFO' && RANK[v] > RANK[w]) w = v;
  return w;
}

/** Sort key: worst first (INFO between SAFE and WARN, SKIPPED last). */
export function rank(v: CheckVerdict | FindingVerdict): number {
  return v === 'SKIPPED' ? -1 : RANK[v];
}

/** A check's verdict from its findings. */
export function checkVerdict(findings: readonly Finding[]): Verdict {
  return worst(findings.map((f) => f.verdict));
}

/** Applies the scale, `severity`, `allow` and `failOn` to every finding, recomputes check verdicts; returns the run's verdict, exit code and failing codes. */
export function finalize(
  checks: CheckResult[],
  policy: { allow: readonly string[]; failOn: readonly string[]; severity?: readonly SeverityRule[] },
): { verdict: Verdict; exitCode: 0 | 2; failing: string[] } {
  const failing: string[] = [];
  for (const check of checks) {
    applyScale(check.findings, policy.severity ?? []);
    for (const f of check.findings) {
      if (f.verdict === 'UNSAFE') {
        const pattern = policy.allow.find((p) => matches(p, f));
        if (pattern) {
          f.verdict = 'WARN';
          f.allowed = pattern;
        }
      }
      if (f.verdict === 'WARN' || f.verdict === 'INFO') {
        const pattern = policy.failOn.find((p) => matches(p, f));
        if (pattern) f.failsRun = pattern;
      }
      if (f.verdict === 'UNSAFE' || f.verdict === 'FAIL' || f.failsRun) {
        failing.push(f.target ? `${f.code}:${f.target}` : f.code);
      }
    }
    if (check.verdict !== 'SKIPPED') check.verdict = checkVerdict(check.findings);
  }
  const verdict = worst(checks.flatMap((c) => (c.verdict === 'SKIPPED' ? [] : [c.verdict])));
  return { verdict, exitCode: failing.length > 0 ? 2 : 0, failing };
}
