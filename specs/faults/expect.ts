import { expect } from 'vitest';
import { BLACK_HOLE_PASSWORD, type FaultOptions, type FaultResult } from './harness.ts';

/** The specs' SHIPGATE_PG_TIMEOUT_MS: short, to keep them quick (the bench uses the default). */
export const SPEC_OPTIONS: FaultOptions = { pgTimeoutMs: 5_000 };
/**
 * Fault to exit, at SPEC_OPTIONS: a frozen server costs the child's test timeout (5 s) plus a
 * few bounded statements of 5 s each, about 20 s; the rest is slack for a loaded 2-core machine.
 */
export const MAX_TIME_TO_FAILURE_S = 25;
/** One spec's own limit: a child run, the fault, and a second run. */
export const SPEC_TIMEOUT_MS = 150_000;

/** A clear failure: in bounded time, naming the server, saying what failed (`what`), no secret. */
export function expectClearFailure(r: FaultResult, what: RegExp): void {
  // The measurement, for a person reading CI's log when a bound is near (the bench has the rest).
  process.stderr.write(`fault "${r.scenario}": exit ${r.code} ${r.timeToFailureS} s after the fault\n`);
  expect(r.skipped).toBeUndefined();
  expect(r.code, r.output).not.toBe(0);
  expect(r.timeToFailureS, r.output).not.toBeNull();
  expect(r.timeToFailureS).toBeLessThanOrEqual(MAX_TIME_TO_FAILURE_S);
  expect(r.output).toContain(r.server);
  expect(r.output).toMatch(what);
  expect(r.output).not.toContain(BLACK_HOLE_PASSWORD);
}
