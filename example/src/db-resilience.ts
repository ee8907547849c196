import type { PrismaClient } from './generated/prisma/client.ts';
import { backoffMs, type CircuitBreaker, type RetryPolicy, sleep, UnavailableError } from './resilience.ts';

/** How a database error should be handled. */
export interface DbFailure {
  /** Worth retrying later: the server is down, restarting, or the connection broke. */
  transient: boolean;
  /**
   * The statement certainly never ran (no connection could be made), so even a write may be
   * retried. A connection that broke mid-statement is ambiguous: a write may have committed.
   */
  beforeSend: boolean;
  /** Short reason for logs and metrics: `ConnectionClosed`, `57P01`, `ECONNREFUSED`, … */
  reason: string;
}

// Prisma error codes: P1001 can't reach server, P1002 server timed out, P1008 operation timed
// out, P1017 server closed the connection, P2024 timed out waiting for a pool connection.
const PRISMA_TRANSIENT = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const PRISMA_BEFORE_SEND = new Set(['P1001', 'P2024']);
// What @prisma/adapter-pg reports under meta.driverAdapterError.cause.kind.
const ADAPTER_TRANSIENT = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const ADAPTER_BEFORE_SEND = new Set(['DatabaseNotReachable', 'TooManyConnections']);
// SQLSTATE: class 08 connection exception; 57P01 admin shutdown, 57P02 crash shutdown,
// 57P03 cannot connect now (starting up); 53300 too many connections.
const SQLSTATE_BEFORE_SEND = new Set(['57P03', '53300', '08001', '08004']);
const isTransientSqlState = (code: string) => code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300';
const SOCKET_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const SOCKET_BEFORE_SEND = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
// pg's own messages, thrown without a code (the adapter passes them through unwrapped).
const PG_MESSAGES: readonly [RegExp, string, boolean][] = [
  [/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i, 'connect timeout', true],
  [/Connection terminated unexpectedly|Client has encountered a connection error/i, 'connection lost', false],
];

/** Classifies a database error from Prisma, the pg adapter or pg itself; undefined when it is not one this module knows. */
export function classifyDbError(err: unknown): DbFailure | undefined {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 6; depth++) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && /^P\d{4}$/.test(code)) {
      const adapter = (e.meta as { driverAdapterError?: { cause?: unknown } } | undefined)?.driverAdapterError?.cause;
      const fromAdapter = adapter ? classifyDbError(adapter) : undefined;
      if (fromAdapter) return fromAdapter;
      if (PRISMA_TRANSIENT.has(code))
        return { transient: true, beforeSend: PRISMA_BEFORE_SEND.has(code), reason: code };
      return undefined;
    }
    const kind = typeof e.kind === 'string' ? e.kind : undefined;
    if (kind === 'postgres' && code) {
      return isTransientSqlState(code)
        ? { transient: true, beforeSend: SQLSTATE_BEFORE_SEND.has(code), reason: code }
        : undefined;
    }
    if (kind && ADAPTER_TRANSIENT.has(kind))
      return { transient: true, beforeSend: ADAPTER_BEFORE_SEND.has(kind), reason: kind };
    if (code && SOCKET_TRANSIENT.has(code))
      return { transient: true, beforeSend: SOCKET_BEFORE_SEND.has(code), reason: code };
    if (code && typeof e.severity === 'string' && isTransientSqlState(code)) {
      return { transient: true, beforeSend: SQLSTATE_BEFORE_SEND.has(code), reason: code };
    }
    const message = typeof e.message === 'string' ? e.message : '';
    for (const [re, reason, beforeSend] of PG_MESSAGES)
      if (re.test(message)) return { transient: true, beforeSend, reason };
    // DriverAdapterError keeps the adapter's classification in `cause`.
    e = e.cause as Record<string, unknown> | undefined;
  }
  return undefined;
}

const READS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  '$queryRaw',
  '$queryRawUnsafe',
  '$queryRawTyped',
]);

/** Whether retrying `operation` can never write twice. `$queryRaw` counts as a read: send writes through `$executeRaw` or model methods. */
export function isReadOperation(operation: string): boolean {
  return READS.has(operation);
}

/** Options of {@link withDbResilience}. */
export interface DbResilienceOptions {
  /** Per-operation limit; the request gets a 503 when it is exceeded. */
  timeoutMs: number;
  retry: RetryPolicy;
  breaker: CircuitBreaker;
  /** Receives each attempt's duration (seconds) with its outcome. */
  observe?: (
    labels: { model: string; operation: string; outcome: 'ok' | 'error' | 'timeout' },
    seconds: number,
  ) => void;
  /** Called before each retry. */
  onRetry?: (info: { model: string; operation: string; attempt: number; delayMs: number; reason: string }) => void;
}

class DbTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DbTimeout(`${what} took longer than ${ms} ms`)), ms);
  });
  // The losing promise keeps running; its late rejection must not become an unhandled one.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Wraps every Prisma operation (model methods and raw queries) with: a circuit breaker check, a
 * timeout, and retries with exponential backoff and jitter for transient errors. Reads are
 * retried on any transient error; writes only when the statement certainly never ran (no
 * connection), because a write whose connection broke mid-flight may have committed. Nothing is
 * retried inside a transaction (the transaction is gone with its connection). A transient
 * failure that is not retried, or still fails, becomes an {@link UnavailableError} (503 with
 * `Retry-After`); other errors pass through unchanged.
 */
export function withDbResilience(prisma: PrismaClient, options: DbResilienceOptions): PrismaClient {
  const { breaker, retry, timeoutMs } = options;
  const extended = prisma.$extends({
    name: 'resilience',
    query: {
      async $allOperations(params) {
        const { operation, args, query } = params;
        const model = params.model ?? 'raw';
        // Not in Prisma's public types, but passed at run time: set for batch and interactive transactions.
        const inTransaction = Boolean(
          (params as { __internalParams?: { transaction?: unknown } }).__internalParams?.transaction,
        );
        const what = `${model}.${operation}`;
        breaker.check(() => `The database is unavailable ("${what}" not attempted)`);
        for (let attempt = 1; ; attempt++) {
          const started = performance.now();
          const seconds = () => (performance.now() - started) / 1000;
          try {
            const result = await withTimeout(query(args), timeoutMs, `"${what}"`);
            options.observe?.({ model, operation, outcome: 'ok' }, seconds());
            breaker.success();
            return result;
          } catch (err) {
            if (err instanceof DbTimeout) {
              options.observe?.({ model, operation, outcome: 'timeout' }, seconds());
              breaker.failure();
              throw new UnavailableError('database', `The database did not answer in time: ${err.message}`, {
                retryAfterS: breaker.retryAfterS,
                cause: err,
              });
            }
            options.observe?.({ model, operation, outcome: 'error' }, seconds());
            const failure = classifyDbError(err);
            if (!failure) {
              // The server answered (constraint violation, not found, …): it is up.
              breaker.success();
              throw err;
            }
            const retryable =
              !inTransaction &&
              attempt < retry.attempts &&
              (isReadOperation(operation) || failure.beforeSend) &&
              breaker.state === 'closed';
            if (!retryable) {
              breaker.failure();
              throw new UnavailableError('database', `The database is unavailable (${failure.reason}); retry later`, {
                retryAfterS: breaker.retryAfterS,
                cause: err,
              });
            }
            const delayMs = backoffMs(attempt, retry);
            options.onRetry?.({ model, operation, attempt, delayMs, reason: failure.reason });
            await sleep(delayMs);
          }
        }
      },
    },
  });
  // The extended client has the same runtime API; only its static type differs.
  return extended as unknown as PrismaClient;
}
