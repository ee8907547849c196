/**
 * Verdicts: a check is as bad as its worst finding; the run is as bad as its worst check.
 * `allow` patterns accept UNSAFE findings (they become WARN); `failOn` patterns make WARN
 * findings fail the run. Exit code 0 for SAFE/WARN, 2 otherwise.
 */
import type { CheckResult, CheckVerdict, Finding, Verdict } from './types.ts';

const RANK: Record<Verdict, number> = { SAFE: 0, WARN: 1, UNSAFE: 2, FAIL: 3 };

/** The worse of verdicts (SAFE for none). */
export function worst(verdicts: Iterable<Verdict>): Verdict {
  let w: Verdict = 'SAFE';
  for (const v of verdicts) if (RANK[v] > RANK[w]) w = v;
  return w;
}

/** Sort key: worst first. */
export function rank(v: CheckVerdict): number {
  return v === 'SKIPPED' ? -1 : RANK[v];
}

/** A check's verdict from its findings. */
export function checkVerdict(findings: readonly Finding[]): Verdict {
  return worst(findings.map((f) => f.verdict));
}

/** Whether `pattern` (`code` or `code:target`, `*` matches anything) matches the finding. */
export function matches(pattern: string, finding: Finding): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  const keys = [finding.code, `${finding.code}:${finding.target ?? ''}`];
  if (finding.migration) keys.push(`${finding.code}:${finding.migration}`);
  return keys.some((k) => re.test(k));
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** Applies `allow` and `failOn` to every finding, recomputes check verdicts; returns the run's verdict, exit code and failing codes. */
export function finalize(
  checks: CheckResult[],
  policy: { allow: readonly string[]; failOn: readonly string[] },
): { verdict: Verdict; exitCode: 0 | 2; failing: string[] } {
  const failing: string[] = [];
  for (const check of checks) {
    for (const f of check.findings) {
      if (f.verdict === 'UNSAFE') {
        const pattern = policy.allow.find((p) => matches(p, f));
        if (pattern) {
          f.verdict = 'WARN';
          f.allowed = pattern;
        }
      }
      if (f.verdict === 'WARN') {
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
