import { describe, expect, test } from 'vitest';
import { expectClearFailure, SPEC_OPTIONS, SPEC_TIMEOUT_MS } from './expect.ts';
import { frozenEmbedded } from './harness.ts';

// Issue 14, fault 1: a server that stops answering (SIGSTOP on its whole process group) mid-query.
describe('fault: the server frozen (embedded)', () => {
  test("the run's own embedded server: the run ends by itself and stops it", { timeout: SPEC_TIMEOUT_MS }, async () => {
    const r = await frozenEmbedded(SPEC_OPTIONS);
    expect(r.code, r.output).toBe(1);
    expectClearFailure(r, /no answer from Postgres within 5000 ms \(SHIPGATE_PG_TIMEOUT_MS\) — SELECT/);
    expect(r.leftovers).toEqual([]);
  });
});
