import { ShipgateError } from '../core/errors.ts';

/** A chaos fixture was misused or refused: production guard, bad fault settings, a port that cannot be re-bound. */
export class ChaosError extends ShipgateError {}

/** True when `NODE_ENV` names production (case and surrounding blanks ignored). */
export function isProduction(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.NODE_ENV ?? '').trim().toLowerCase() === 'production';
}

/**
 * Throws unless chaos may run here. Fault injection is test-only: every entry point (starting a
 * proxy, enabling a fault) calls this, so a chaos module that ends up in a production bundle
 * still cannot do anything. There is deliberately no override.
 */
export function assertChaosAllowed(what: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!isProduction(env)) return;
  throw new ChaosError(
    'SHIPGATE_CHAOS_PRODUCTION',
    `Chaos fault injection "${what}" refused: NODE_ENV is "${env.NODE_ENV}".`,
    { hint: 'Chaos is test-only; run it with NODE_ENV=test (or unset), never in a production process.' },
  );
}

/** Checks one numeric fault setting; collects a problem line instead of throwing. */
export function checkNumber(
  problems: string[],
  name: string,
  value: unknown,
  opts: { min?: number; integer?: boolean; optional?: boolean } = {},
): void {
  if (value === undefined && opts.optional) return;
  const min = opts.min ?? 0;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    (opts.integer && !Number.isInteger(value))
  ) {
    problems.push(
      `${name} must be ${opts.integer ? 'an integer' : 'a number'} ≥ ${min} (got ${JSON.stringify(value)})`,
    );
  }
}

/** Throws one ChaosError listing every problem of a fault's settings, if any. */
export function reportProblems(subject: string, problems: readonly string[]): void {
  if (problems.length === 0) return;
  throw new ChaosError(
    'SHIPGATE_CHAOS_CONFIG',
    `Invalid ${subject} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  );
}

/**
 * Validates a `down()` fault for any injector: an optional duration and a mode from `modes`
 * (the first is the default). Throws with every problem at once; returns the mode.
 */
export function checkDownFault<M extends string>(
  name: string,
  fault: { ms?: number; mode?: string },
  modes: readonly [M, ...M[]],
): M {
  const problems: string[] = [];
  checkNumber(problems, 'down ms', fault.ms, { optional: true });
  const mode = (fault.mode ?? modes[0]) as M;
  if (!modes.includes(mode)) {
    problems.push(
      `mode must be ${modes.slice(0, -1).join(', ')} or ${modes.at(-1)} (got ${JSON.stringify(fault.mode)})`,
    );
  }
  reportProblems(`down fault on "${name}"`, problems);
  return mode;
}
