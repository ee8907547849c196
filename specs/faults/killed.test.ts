import { describe, expect, test } from 'vitest';
import { expectClearFailure, SPEC_OPTIONS, SPEC_TIMEOUT_MS } from './expect.ts';
import { killedServer } from './harness.ts';

// Issue 14, fault 2: the run's own postmaster gets SIGKILL while a test is in a query.
describe('fault: the server killed', () => {
  test('the query fails at once, teardown does not wait on a dead server, nothing is left', {
    timeout: SPEC_TIMEOUT_MS,
  }, async () => {
    const r = await killedServer(SPEC_OPTIONS);
    expect(r.code, r.output).toBe(1);
    expectClearFailure(r, /Connection terminated unexpectedly/);
    expect(r.output).toMatch(/Admin query failed on "[^"]+": connect ECONNREFUSED [\d.:]+ — /);
    expect(r.leftovers).toEqual([]);
  });
});
