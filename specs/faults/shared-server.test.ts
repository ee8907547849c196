import { describe, expect, test } from 'vitest';
import { SPEC_OPTIONS, SPEC_TIMEOUT_MS } from './expect.ts';
import { twoRunsSharedServer } from './harness.ts';

// Issue 14, fault 6: two runs at once on one external server, one prefix, foreign look-alikes present.
describe('fault: two runs sharing one external server, with foreign look-alikes', () => {
  test('both pass, no look-alike is dropped, only shipgate-marked templates stay', {
    timeout: SPEC_TIMEOUT_MS,
  }, async () => {
    const r = await twoRunsSharedServer(SPEC_OPTIONS);
    expect(r.code, r.output).toBe(0);
    expect(r.foreignDropped).toEqual([]);
    expect(r.leftovers).toEqual([]);
    // Each run built its own template (different migrations) and held it while the other pruned.
    expect(r.templatesKept).toBeGreaterThanOrEqual(1);
    expect(r.templatesKept).toBeLessThanOrEqual(2);
  });
});
