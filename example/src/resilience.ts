import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from './http-error.ts';

export { sleep };

/** Exponential backoff: attempt n waits about `baseDelayMs · 2^(n-1)`, capped at `maxDelayMs`. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * The wait before retry number `attempt` (1 = the first retry): exponential, capped, with
 * "equal jitter" (a uniform draw from the upper half), so clients that failed together do not
 * retry together, yet every wait keeps at least half its nominal length.
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return nominal / 2 + (random() * nominal) / 2;
}

/**
 * 503 because a dependency is down or slow: `{ error: { code, message } }` plus a `Retry-After`
 * header (set by `unavailableHeaders` in dependencies.ts).
 */
export class UnavailableError extends HttpError {
  /** Seconds the client should wait before retrying (`Retry-After`). */
  readonly retryAfterS: number;
  /** `database` or `upstream`. */
  readonly dependency: string;

  constructor(dependency: string, message: string, options: { retryAfterS: number; code?: string; cause?: unknown }) {
    super(503, options.code ?? 'unavailable', message, { cause: options.cause });
    this.dependency = dependency;
    this.retryAfterS = Math.max(1, Math.ceil(options.retryAfterS));
  }
}

/**
 * Parses a `Retry-After` value (delta-seconds or an HTTP-date) into milliseconds from `now`;
 * undefined when absent or unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Options of a {@link CircuitBreaker}. */
export interface BreakerOptions {
  /** Dependency name, used in messages and the `circuit_breaker_open` gauge. */
  name: string;
  /** Consecutive failed operations that open the circuit. */
  threshold: number;
  /** How long it stays open before one trial call is let through. */
  cooldownMs: number;
  /** Called on every state change. */
  onChange?: (state: BreakerState) => void;
  now?: () => number;
}

/**
 * A circuit breaker: after `threshold` consecutive failures, calls fail fast for `cooldownMs`
 * (no waiting on a dead dependency, and no load on a recovering one); then one trial call goes
 * through: success closes the circuit, failure opens it again.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #opts: BreakerOptions;
  #failures = 0;
  #state: BreakerState = 'closed';
  #openUntil = 0;
  #probing = false;
  #probeAt = 0;

  constructor(opts: BreakerOptions) {
    this.name = opts.name;
    this.#opts = opts;
  }

  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() >= this.#openUntil) return 'half-open';
    return this.#state;
  }

  /** Seconds until a trial call is allowed (at least 1). */
  get retryAfterS(): number {
    return Math.max(1, Math.ceil(Math.max(this.#openUntil - this.#now(), this.#opts.cooldownMs) / 1000));
  }

  /** Throws an UnavailableError while the circuit is open (or another call is the trial); lets the call through otherwise. */
  check(what: () => string): void {
    if (this.#state === 'closed') return;
    const now = this.#now();
    // A trial that never reported back (its caller went away) must not keep the circuit shut.
    if (now >= this.#openUntil && (!this.#probing || now - this.#probeAt > this.#opts.cooldownMs)) {
      this.#probing = true;
      this.#probeAt = now;
      this.#set('half-open');
      return;
    }
    const waitS = Math.max(1, Math.ceil((this.#openUntil - now) / 1000));
    throw new UnavailableError(this.name, `${what()}; failing fast for ${waitS} s after repeated failures`, {
      retryAfterS: waitS,
      code: this.name === 'database' ? 'unavailable' : `${this.name}_unavailable`,
    });
  }

  /** Records a call that reached the dependency and got an answer. */
  success(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state !== 'closed') this.#set('closed');
  }

  /** Records a failed call; opens the circuit at the threshold, or again after a failed trial. */
  failure(): void {
    this.#failures += 1;
    const trialFailed = this.#probing;
    this.#probing = false;
    if (trialFailed || this.#failures >= this.#opts.threshold) {
      this.#openUntil = this.#now() + this.#opts.cooldownMs;
      this.#set('open');
    }
  }

  #set(state: BreakerState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#opts.onChange?.(state);
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }
}

/** Reads a positive number from `env[name]`, else `fallback`; throws naming the variable when it is set but invalid. */
export function envNumber(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} is "${raw}", expected a number ≥ 0`);
  return n;
}
