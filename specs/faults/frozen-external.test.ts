import { describe, expect, test } from 'vitest';
import { expectClearFailure, SPEC_OPTIONS, SPEC_TIMEOUT_MS } from './expect.ts';
import { frozenExternal } from './harness.ts';

// Issue 14, fault 1: a server that stops answering (SIGSTOP on its whole process group) mid-query.
describe('fault: the server frozen (external)', () => {
  test('an external server: the run ends by itself, and the next run sweeps what it left', {
    timeout: SPEC_TIMEOUT_MS,
  }, async () => {
    const r = await frozenExternal(SPEC_OPTIONS);
    expect(r.code, r.output).toBe(1);
    expectClearFailure(r, /no answer from Postgres within 5000 ms \(SHIPGATE_PG_TIMEOUT_MS\) — SELECT/);
    // The frozen server could not drop the test's database; the next run's lease-based sweep does.
    expect(r.next?.code, r.next?.output).toBe(0);
    for (const d of r.leftAtFault ?? []) {
      const name = d.replace(/^database "(.*)"$/, '$1');
      expect(r.next?.output).toMatch(
        new RegExp(`shipgate: swept "${name}", left by run \\w+, which holds no lease \\(dead\\)`),
      );
    }
    expect(r.leftovers).toEqual([]);
  });
});
