import type { Measurement } from './analyze.ts';
import { formatMs } from './duration.ts';
import { type RunPlan, requiredSamples } from './profiles.ts';

/**
 * The verdict on one measurement. A result is `inconclusive`, never `passed`, when:
 * - the generator could not keep up: an open-loop round delivered under 95 % of its target
 *   rate (see analyze.ts), or the generator thread's CPU was saturated (≥ 90 % of a core over
 *   the round), so it sent less than asked and its own delays would count as latency;
 * - requests were dropped (due while every connection was busy);
 * - a percentile has too few samples: n < 10 / (1 − p), e.g. 200 for p95, 1000 for p99.
 *
 * Latency counts from each request's scheduled send time, so a late or starved generator can
 * only make latency look worse: a pass is still a pass. A violation, though, must not be the
 * generator's doing:
 * - a latency violation is only conclusive when it also holds with each request timed from
 *   its actual dispatch (its own lateness removed);
 * - when the generator's event loop was ≥ 90 % busy while it used little CPU, other processes
 *   starved it (an overloaded machine): its response handling may have been delayed too, so a
 *   latency violation is inconclusive;
 * - when the host was CPU-starved over a round, measured directly (host-load.ts), a latency or
 *   throughput violation is inconclusive, whatever its size: queueing behind a starved thread
 *   can multiply latency (a p95 of 785 ms against 200 ms on a busy 2-core machine, nothing in
 *   the app changed). Starved means any of {@link HOST_LIMITS}:
 *   - a thread that takes part in the measurement (the generator's, or the one serving an app in
 *     this process)
 *     was runnable but waiting for a CPU ≥ 20 % of a round's wall time (measured on an idle
 *     2-core machine: about 3 %; one busy loop: ≤ 9 %; two busy loops and a server burning
 *     10 ms of CPU per request at 50 requests/s: 31 % for the server's thread);
 *   - the machine's run queue averaged ≥ 1.5 runnable tasks per core over a round (every core
 *     busy and half as many tasks again waiting; idle: under 0.5 per core, one busy loop on
 *     2 cores: under 1, the unit phase's two workers next to a busy loop: 1.8 to 4);
 *   - the hypervisor stole ≥ 10 % of the CPU time.
 *   Event-loop utilisation misses this: a wake-up delayed by other processes counts as idle
 *   time, so a mostly idle generator on a starved host looks healthy. A server slowed by its
 *   own CPU work does not wait for a CPU on an idle machine, so its violation still fails; one
 *   that by itself keeps every core busy (many database backends burning CPU) reads as
 *   starvation and is inconclusive, never a pass.
 * A violation measured despite dropped requests still fails: the dropped requests could only
 * have been slower (or failed), so the measured percentile and error rate are lower bounds.
 */

/** Budget keys, with units in their names, as in report records. */
export type BudgetKey = 'p50Ms' | 'p95Ms' | 'p99Ms' | 'errorRate' | 'rps';

export interface BudgetCheck {
  key: BudgetKey;
  /** `p95`, `error rate`, `throughput`. */
  label: string;
  value: number;
  limit: number;
  ok: boolean;
  /** False when a failure of this check could not be trusted (see the module comment). */
  conclusive: boolean;
  n: number;
  /** Samples needed for a percentile. */
  needed?: number;
  /** Latency checks: the percentile with the generator's lateness removed. */
  fromDispatch?: number;
}

export type VerdictStatus = 'passed' | 'failed' | 'inconclusive';

export interface Verdict {
  status: VerdictStatus;
  checks: BudgetCheck[];
  /** Why the result is inconclusive (also listed next to a failure). */
  inconclusive: string[];
}

/** Generator limits (see the module comment). */
export const GENERATOR_LIMITS = { minRateRatio: 0.95, maxCpu: 0.9, maxElu: 0.9 } as const;

/** Host starvation limits (see the module comment): CPU wait share, run queue per core, steal share. */
export const HOST_LIMITS = { maxCpuWait: 0.2, maxRunQueuePerCore: 1.5, maxSteal: 0.1 } as const;

const pct = (v: number) => `${(v * 100).toFixed(0)} %`;

/** Why the host was CPU-starved over the rounds (undefined when it was not, or nothing was measured). */
export function hostStarvation(m: Measurement): string | undefined {
  const h = m.generator.host;
  if (!h) return undefined;
  const over: string[] = [];
  if (h.serverWait !== undefined && h.serverWait >= HOST_LIMITS.maxCpuWait) {
    over.push(`the thread serving the in-process app waited for a CPU ${pct(h.serverWait)} of a round`);
  }
  if (h.generatorWait !== undefined && h.generatorWait >= HOST_LIMITS.maxCpuWait) {
    over.push(`the load generator's thread waited for a CPU ${pct(h.generatorWait)} of a round`);
  }
  if (h.runQueue !== undefined && h.runQueue >= HOST_LIMITS.maxRunQueuePerCore * h.cores) {
    over.push(`${h.runQueue.toFixed(1)} tasks were runnable on average on ${h.cores} cores`);
  }
  if (h.steal !== undefined && h.steal >= HOST_LIMITS.maxSteal) {
    over.push(`the hypervisor stole ${pct(h.steal)} of the CPU time`);
  }
  if (!over.length) return undefined;
  const figures = [
    h.runQueue === undefined ? undefined : `run queue ${h.runQueue.toFixed(1)} on ${h.cores} cores`,
    h.serverWait === undefined ? undefined : `server CPU wait ${pct(h.serverWait)}`,
    h.generatorWait === undefined ? undefined : `generator CPU wait ${pct(h.generatorWait)}`,
    h.lateP99Us === undefined ? undefined : `timer lateness p99 ${formatMs(h.lateP99Us / 1000)}`,
  ].filter(Boolean);
  return `the host was CPU-starved: ${over.join('; ')} (limits: CPU wait ${pct(HOST_LIMITS.maxCpuWait)}, run queue ${HOST_LIMITS.maxRunQueuePerCore} per core, steal ${pct(HOST_LIMITS.maxSteal)}; measured ${figures.join(', ')}), so its delays may count as latency`;
}

/** Reasons the generator invalidates the whole measurement (empty when it does not). */
export function generatorProblems(m: Measurement): string[] {
  const out: string[] = [];
  const g = m.generator;
  if (
    g.achievedRps !== undefined &&
    g.targetRps !== undefined &&
    g.achievedRps < GENERATOR_LIMITS.minRateRatio * g.targetRps
  ) {
    out.push(
      `the load generator could not keep up: it delivered ${g.achievedRps.toFixed(1)} requests/s of the ${g.targetRps.toFixed(1)} scheduled (< ${GENERATOR_LIMITS.minRateRatio * 100} %)`,
    );
  }
  if (g.cpu >= GENERATOR_LIMITS.maxCpu) {
    out.push(
      `the load generator's CPU was saturated: its thread used ${(g.cpu * 100).toFixed(0)} % of a core (≥ ${GENERATOR_LIMITS.maxCpu * 100} %), so it sent less than asked and its own delays would count as latency`,
    );
  }
  return out;
}

/** Why latency violations may be the generator's doing though its CPU was not saturated. */
function starved(m: Measurement): string | undefined {
  const g = m.generator;
  if (g.elu < GENERATOR_LIMITS.maxElu || g.cpu >= GENERATOR_LIMITS.maxCpu) return undefined;
  return `the load generator's event loop was ${(g.elu * 100).toFixed(0)} % busy while it used ${(g.cpu * 100).toFixed(0)} % of a core: other processes starved it, so its delays may count as latency`;
}

/**
 * Judges a measurement against the plan's budgets. `okFlags` lets an external engine's own
 * pass/fail per budget stand (k6 computes its percentiles itself); the inconclusive rules
 * still apply.
 */
export function judge(
  plan: Pick<RunPlan, 'budgets'>,
  m: Measurement,
  okFlags: Partial<Record<BudgetKey, boolean>> = {},
): Verdict {
  const inconclusive = generatorProblems(m);
  const generatorOk = inconclusive.length === 0;
  if (m.dropped > 0) {
    inconclusive.push(
      `${m.dropped} request(s) were dropped: they were due while all connections were busy (raise load.maxConnections)`,
    );
  }
  if (m.abandoned > 0) {
    inconclusive.push(`${m.abandoned} request(s) were still in flight after the timeout and were abandoned`);
  }
  if (m.requests === 0) inconclusive.push('no request completed, so there is nothing to judge');

  const starvedBy = starved(m) ?? hostStarvation(m);
  const checks: BudgetCheck[] = [];
  for (const p of [50, 95, 99] as const) {
    const limit = plan.budgets[`p${p}`];
    if (limit === undefined) continue;
    const needed = requiredSamples(p);
    const value = m.latency[`p${p}Us`] / 1000;
    const fromDispatch = m.latencyFromDispatch[`p${p}Us`] / 1000;
    const enough = m.n >= needed;
    if (!enough) inconclusive.push(`too few samples for p${p}: n=${m.n}, needs ≥ ${needed} (10 beyond the percentile)`);
    const ok = okFlags[`p${p}Ms`] ?? value < limit;
    const late = !ok && fromDispatch < limit;
    if (late && enough) {
      inconclusive.push(
        `p${p} ${formatMs(value)} exceeds ${formatMs(limit)} only because of the generator's own lateness: timed from actual dispatch it is ${formatMs(fromDispatch)} (dispatch lag p99 ${formatMs(m.generator.lagP99Us / 1000)})`,
      );
    }
    const generatorsFault = late || (!ok && starvedBy !== undefined);
    if (!ok && starvedBy && enough && !inconclusive.includes(starvedBy)) inconclusive.push(starvedBy);
    checks.push({
      key: `p${p}Ms`,
      label: `p${p}`,
      value,
      limit,
      ok,
      conclusive: generatorOk && enough && !generatorsFault,
      n: m.n,
      needed,
      fromDispatch,
    });
  }
  if (plan.budgets.errorRate !== undefined) {
    const limit = plan.budgets.errorRate;
    const value = m.errorRate;
    checks.push({
      key: 'errorRate',
      label: 'error rate',
      value,
      limit,
      ok: okFlags.errorRate ?? (limit === 0 ? value === 0 : value < limit),
      conclusive: generatorOk && m.requests > 0,
      n: m.requests,
    });
  }
  if (plan.budgets.minRps !== undefined) {
    const limit = plan.budgets.minRps;
    const ok = okFlags.rps ?? m.rps >= limit;
    if (!ok && starvedBy && !inconclusive.includes(starvedBy)) inconclusive.push(starvedBy);
    checks.push({
      key: 'rps',
      label: 'throughput',
      value: m.rps,
      limit,
      ok,
      // Dropped requests were never offered to the server, so a low throughput proves nothing;
      // nor does a low throughput on a starved host.
      conclusive: generatorOk && m.dropped === 0 && m.requests > 0 && starvedBy === undefined,
      n: m.requests,
    });
  }
  const failed = checks.some((c) => !c.ok && c.conclusive);
  const status: VerdictStatus = failed
    ? 'failed'
    : inconclusive.length > 0 || checks.some((c) => !c.ok)
      ? 'inconclusive'
      : 'passed';
  return { status, checks, inconclusive };
}
