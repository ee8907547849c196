/**
 * The default-on N+1 check, observed from outside: a child Vitest runs
 * specs/fixtures-vitest/n-plus-one.fixture.ts (an app on raw pg, no ORM) on a real Postgres.
 * In CI the test whose request repeats a query shape fails with the shape and its count; the
 * same route passes with its shape allowed or the check off; outside CI nothing is checked.
 */
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { childPrefix, dropPrefix, runChildVitest } from '../child-vitest.ts';

const env = (adminUrl: string, prefix: string, extra: NodeJS.ProcessEnv = {}) => ({
  SHIPGATE_PROVIDER: 'external',
  SHIPGATE_DATABASE_URL: adminUrl,
  SHIPGATE_DB_PREFIX: prefix,
  ...extra,
});

describe('the N+1 check on every request call', () => {
  test('in CI: the repeated shape fails its test, named with its count; allowed or off, it passes', async ({
    shipgate,
  }) => {
    const prefix = childPrefix();
    try {
      const run = await runChildVitest('n-plus-one.fixture.ts', env(shipgate.adminUrl, prefix, { CI: 'true' }));
      expect(run.code, run.output).toBe(1);
      expect(run.output).toContain('1 failed | 3 passed');
      expect(run.output).toMatch(/FAIL .*the N\+1 route, checked/);
      expect(run.output).toMatch(
        /QueryCheckError: Request "GET \/users\/n-plus-one" \(trace [0-9a-f]{8}…\) ran the same query shape more than once \(N\+1\): "SELECT email FROM users WHERE id = \?" 3×; 4 queries in all\./,
      );
      expect(run.output).toContain('queryCheck: { allow:');
      expect(run.output).not.toMatch(/FAIL .*(joined|allowed|check off)/);
    } finally {
      await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
    }
  }, 120_000);

  test('outside CI, or with SHIPGATE_QUERY_CHECK=0, nothing is checked', async ({ shipgate }) => {
    const prefix = childPrefix();
    try {
      for (const extra of [{ CI: '' }, { CI: 'true', SHIPGATE_QUERY_CHECK: '0' }]) {
        const run = await runChildVitest('n-plus-one.fixture.ts', env(shipgate.adminUrl, prefix, extra));
        expect(run.code, `${JSON.stringify(extra)}\n${run.output}`).toBe(0);
        expect(run.output).toContain('4 passed');
      }
    } finally {
      await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
    }
  }, 120_000);
});
