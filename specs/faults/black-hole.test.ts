import { describe, expect, test } from 'vitest';
import { expectClearFailure, SPEC_OPTIONS, SPEC_TIMEOUT_MS } from './expect.ts';
import { blackHoleDeploy, blackHoleTest } from './harness.ts';

// Issue 14, fault 3: a port that accepts connections and never answers.
describe('fault: a black-hole port', () => {
  test('shipgate migrate deploy --url <black hole>: exit 1, the URL redacted, the limit named', {
    timeout: SPEC_TIMEOUT_MS,
  }, async () => {
    const r = await blackHoleDeploy(SPEC_OPTIONS);
    expect(r.code, r.output).toBe(1);
    expectClearFailure(
      r,
      /MigrationError \[SHIPGATE_MIGRATION_CONNECT\]: Cannot connect to \S+ to migrate: .*no answer from Postgres within/,
    );
    expect(r.leftovers).toEqual([]);
  });

  test('shipgate test on the external provider at a black hole: exit 2, says it was starting Postgres', {
    timeout: SPEC_TIMEOUT_MS,
  }, async () => {
    const r = await blackHoleTest(SPEC_OPTIONS);
    expect(r.code, r.output).toBe(2);
    expectClearFailure(r, /starting Postgres — failed: .*Cannot connect to Postgres at "[^"]+": timeout expired/);
    expect(r.output.trim().split('\n').at(-1)).toBe('shipgate: 0 passed, 1 failed, 0 skipped');
    expect(r.leftovers).toEqual([]);
  });
});
