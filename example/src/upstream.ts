import { HttpError } from './http-error.ts';
import {
  backoffMs,
  type CircuitBreaker,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
  UnavailableError,
} from './resilience.ts';

/** One notification for the provider: `POST {url}/v1/messages`. */
export interface Notification {
  to: string;
  subject: string;
  text: string;
  /** Sent as `Idempotency-Key` on every attempt, so a retried send is delivered once. */
  idempotencyKey: string;
  /** Propagated as `x-request-id`. */
  traceId?: string;
}

/** What the provider said: its message id, and how many attempts it took. */
export interface Sent {
  id: string;
  attempts: number;
}

/** Outcome label of one attempt (`upstream_request_duration_seconds{outcome}`). */
export type AttemptOutcome = 'ok' | 'rate_limited' | 'server_error' | 'client_error' | 'timeout' | 'network_error';

/** Settings of {@link createNotifier}; dependencies.ts fills them from `resilience.upstream` and env. */
export interface NotifierOptions {
  /** Base URL of the provider; undefined = notifications are off (503 `upstream_not_configured`). */
  url: string | undefined;
  /** Per attempt. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** A `Retry-After` longer than this is not waited out: the request fails with 503 and passes the wait on. */
  maxRetryAfterMs: number;
  /** Whole send, retries and waits included. */
  deadlineMs: number;
  breaker: CircuitBreaker;
  observe?: (outcome: AttemptOutcome, seconds: number) => void;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** The client the notification route uses. */
export interface Notifier {
  readonly configured: boolean;
  send(n: Notification): Promise<Sent>;
}

type Attempt =
  | { ok: true; id: string }
  | { ok: false; outcome: AttemptOutcome; reason: string; retryAfterMs?: number; fatal?: HttpError };

/**
 * The notification provider client: a timeout per attempt; retries with exponential backoff and
 * jitter on network errors, timeouts, 5xx and 429; `Retry-After` honoured (up to
 * `maxRetryAfterMs`); the same `Idempotency-Key` on every attempt; a circuit breaker that fails
 * fast (503 `upstream_unavailable` with `Retry-After`) while the provider is down. Other 4xx
 * answers are not retried (502 `upstream_error`).
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { breaker } = options;

  async function attempt(url: string, n: Notification): Promise<Attempt> {
    const started = performance.now();
    const done = (outcome: AttemptOutcome) => options.observe?.(outcome, (performance.now() - started) / 1000);
    let res: Response;
    try {
      res = await fetch(new URL('/v1/messages', url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': n.idempotencyKey,
          ...(n.traceId ? { 'x-request-id': n.traceId } : {}),
        },
        body: JSON.stringify({ to: n.to, subject: n.subject, text: n.text }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      done(timedOut ? 'timeout' : 'network_error');
      const cause = (err as { cause?: { code?: string } }).cause;
      return {
        ok: false,
        outcome: timedOut ? 'timeout' : 'network_error',
        reason: timedOut ? `no answer within ${options.timeoutMs} ms` : (cause?.code ?? (err as Error).message),
      };
    }
    const text = await res.text().catch(() => '');
    if (res.ok) {
      done('ok');
      const id = (() => {
        try {
          return String((JSON.parse(text) as { id?: unknown }).id ?? '');
        } catch {
          return '';
        }
      })();
      return { ok: true, id };
    }
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    if (res.status === 429) {
      done('rate_limited');
      return { ok: false, outcome: 'rate_limited', reason: '429 Too Many Requests', retryAfterMs };
    }
    if (res.status >= 500) {
      done('server_error');
      return { ok: false, outcome: 'server_error', reason: `${res.status} ${res.statusText}`, retryAfterMs };
    }
    done('client_error');
    return {
      ok: false,
      outcome: 'client_error',
      reason: `${res.status}`,
      fatal: new HttpError(
        502,
        'upstream_error',
        `The notification provider rejected the message: ${res.status} ${text.slice(0, 200)}`,
      ),
    };
  }

  return {
    configured: Boolean(options.url),
    async send(n) {
      const url = options.url;
      if (!url) {
        throw new HttpError(503, 'upstream_not_configured', 'Notifications are off: UPSTREAM_URL is not set');
      }
      breaker.check(() => 'The notification provider is unavailable');
      const deadline = performance.now() + options.deadlineMs;
      let last: Extract<Attempt, { ok: false }> | undefined;
      for (let i = 1; i <= options.retry.attempts; i++) {
        const result = await attempt(url, n);
        if (result.ok) {
          breaker.success();
          return { id: result.id, attempts: i };
        }
        if (result.fatal) {
          breaker.success(); // it answered: up, just unhappy with this message
          throw result.fatal;
        }
        last = result;
        // A rate limit says "busy", not "down": it does not count towards opening the circuit.
        if (result.retryAfterMs !== undefined && result.retryAfterMs > options.maxRetryAfterMs) break;
        if (i === options.retry.attempts) break;
        const delayMs = result.retryAfterMs ?? backoffMs(i, options.retry);
        if (performance.now() + delayMs > deadline) break;
        options.onRetry?.({ attempt: i, delayMs, reason: result.reason });
        await sleep(delayMs);
      }
      if (last?.outcome === 'rate_limited') breaker.success();
      else breaker.failure();
      const waitMs = last?.retryAfterMs ?? breaker.retryAfterS * 1000;
      throw new UnavailableError(
        'upstream',
        `The notification provider is unavailable (${last?.reason ?? 'no attempt'}); retry later`,
        { retryAfterS: waitMs / 1000, code: 'upstream_unavailable' },
      );
    },
  };
}
