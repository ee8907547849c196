import { describe, expect, test } from 'vitest';
import { Prisma } from '../src/db.ts';
import { classifyDbError, isReadOperation } from '../src/db-resilience.ts';
import { backoffMs, CircuitBreaker, envNumber, parseRetryAfter, UnavailableError } from '../src/resilience.ts';

describe('backoff, Retry-After and the circuit breaker', () => {
  test('backoff doubles per retry, is capped, and jitters within the upper half', () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 500 };
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy, () => 0))).toEqual([50, 100, 200, 250]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy, () => 1))).toEqual([100, 200, 400, 500]);
  });

  test('Retry-After as seconds or an HTTP date; garbage is ignored', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  test('opens after N failures, fails fast with Retry-After, lets one trial through after the cool-down', () => {
    let now = 0;
    const states: string[] = [];
    const b = new CircuitBreaker({
      name: 'database',
      threshold: 2,
      cooldownMs: 1_500,
      now: () => now,
      onChange: (s) => states.push(s),
    });
    b.check(() => 'x');
    b.failure();
    b.check(() => 'x');
    b.failure();
    expect(b.state).toBe('open');
    const err = (() => {
      try {
        b.check(() => 'The database is unavailable');
      } catch (e) {
        return e as UnavailableError;
      }
    })();
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err?.status).toBe(503);
    expect(err?.code).toBe('unavailable');
    expect(err?.retryAfterS).toBe(2);
    expect(err?.message).toBe('The database is unavailable; failing fast for 2 s after repeated failures');
    now = 1_500;
    expect(b.state).toBe('half-open');
    b.check(() => 'x'); // the trial
    expect(() => b.check(() => 'x')).toThrow(UnavailableError); // others still wait for it
    b.failure(); // trial failed: open again, for a full cool-down
    expect(b.state).toBe('open');
    now = 3_000;
    b.check(() => 'x');
    b.success();
    expect(b.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  test('a trial that never reports back does not keep the circuit shut', () => {
    let now = 0;
    const b = new CircuitBreaker({ name: 'upstream', threshold: 1, cooldownMs: 100, now: () => now });
    b.failure();
    now = 100;
    b.check(() => 'x'); // trial taken, caller vanished
    now = 150;
    expect(() => b.check(() => 'x')).toThrow(/upstream|x/);
    now = 201;
    expect(() => b.check(() => 'x')).not.toThrow();
  });
});

describe('database error classification', () => {
  const known = (code: string, cause?: object) =>
    new Prisma.PrismaClientKnownRequestError('x', {
      code,
      clientVersion: '7',
      meta: cause ? { driverAdapterError: { name: 'DriverAdapterError', cause } } : undefined,
    });

  test('connection failures are transient; only those before any statement ran are safe for writes', () => {
    expect(classifyDbError(known('P1001', { kind: 'DatabaseNotReachable', host: 'h', port: 1 }))).toEqual({
      transient: true,
      beforeSend: true,
      reason: 'DatabaseNotReachable',
    });
    expect(classifyDbError(known('P1017', { kind: 'ConnectionClosed' }))).toEqual({
      transient: true,
      beforeSend: false,
      reason: 'ConnectionClosed',
    });
    expect(classifyDbError(known('P2010', { kind: 'postgres', code: '57P01', severity: 'FATAL' }))).toMatchObject({
      transient: true,
      beforeSend: false,
      reason: '57P01',
    });
    expect(classifyDbError(known('P2010', { kind: 'postgres', code: '57P03' }))).toMatchObject({ beforeSend: true });
    expect(classifyDbError(known('P2024'))).toEqual({ transient: true, beforeSend: true, reason: 'P2024' });
    // What the adapter throws unwrapped (a lost COMMIT reply), and pg's own errors.
    const adapterError = Object.assign(new Error('ConnectionClosed'), {
      name: 'DriverAdapterError',
      cause: { kind: 'ConnectionClosed' },
    });
    expect(classifyDbError(adapterError)?.reason).toBe('ConnectionClosed');
    expect(classifyDbError(new Error('Connection terminated due to connection timeout'))).toEqual({
      transient: true,
      beforeSend: true,
      reason: 'connect timeout',
    });
    expect(classifyDbError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))?.beforeSend).toBe(
      false,
    );
  });

  test('answers from a healthy server are not transient', () => {
    expect(classifyDbError(known('P2002'))).toBeUndefined();
    expect(classifyDbError(known('P2025'))).toBeUndefined();
    expect(classifyDbError(known('P2010', { kind: 'postgres', code: '42P01' }))).toBeUndefined();
    expect(classifyDbError(new Error('boom'))).toBeUndefined();
  });

  test('reads are retried on any transient error; everything else counts as a write', () => {
    expect(['findMany', 'count', '$queryRaw'].every(isReadOperation)).toBe(true);
    expect(['create', 'updateMany', 'upsert', '$executeRaw', 'somethingNew'].some(isReadOperation)).toBe(false);
  });
});

describe('configuration from the environment', () => {
  test('a bad number names the variable and the value', () => {
    expect(envNumber('DB_QUERY_TIMEOUT_MS', 5_000, {})).toBe(5_000);
    expect(envNumber('DB_QUERY_TIMEOUT_MS', 5_000, { DB_QUERY_TIMEOUT_MS: '250' })).toBe(250);
    expect(() => envNumber('DB_QUERY_TIMEOUT_MS', 5_000, { DB_QUERY_TIMEOUT_MS: 'soon' })).toThrow(
      'DB_QUERY_TIMEOUT_MS is "soon", expected a number ≥ 0',
    );
  });
});
