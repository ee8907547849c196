/**
 * The default-on N+1 check, observed from outside: a child Vitest runs
 * specs/fixtures-vitest/n-plus-one.fixture.ts (an app on raw pg, no ORM) on a real Postgres.
 * In CI the test whose request repeats a query shape fails with the shape and its count; the
 * same route passes with its shape allowed or the check off; outside CI nothing is checked.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { mergeReports } from '../../plugins/report/merge.ts';
import { parsePolicy, type ShipgateRecord } from '../../plugins/report/model.ts';
import { renderHtml } from '../../plugins/report/sinks/html.ts';
import { renderMarkdown } from '../../plugins/report/sinks/markdown.ts';
import { countRecords } from '../../plugins/report/summary.ts';
import { childPrefix, dropPrefix, runChild, runChildVitest } from '../child-vitest.ts';

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

  test("the report says what was checked: each request's count and shapes, what was allowed and why, or why off", async ({
    shipgate,
  }) => {
    const prefix = childPrefix();
    const reports = mkdtempSync(path.join(tmpdir(), 'shipgate-queries-report-'));
    onTestFinished(() => rmSync(reports, { recursive: true, force: true }));
    try {
      const run = await runChild(['run', '--config', 'specs/fixtures-vitest/queries.config.ts'], {
        ...env(shipgate.adminUrl, prefix, { CI: 'true' }),
        SHIPGATE_REPORT_DIR: reports,
      });
      expect(run.code, run.output).toBe(1);
      const dir = path.join(reports, 'records');
      const records = readdirSync(dir).flatMap(
        (f) => (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { records: ShipgateRecord[] }).records,
      );
      const byName = new Map(records.map((r) => [r.name, r]));
      const queries = (name: string) => byName.get(name)?.evidence?.queries as Record<string, unknown> | undefined;
      expect(byName.get('the N+1 route, checked')?.status).toBe('failed');
      expect(queries('the N+1 route, checked')).toEqual({
        check: 'on',
        allowed: [],
        requests: [
          {
            label: 'GET /users/n-plus-one',
            traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
            count: 4,
            shapes: [
              { shape: 'SELECT email FROM users WHERE id = ?', count: 3 },
              { shape: 'SELECT id FROM users ORDER BY id', count: 1 },
            ],
            repeated: [{ shape: 'SELECT email FROM users WHERE id = ?', count: 3 }],
            ambiguous: 0,
          },
        ],
      });
      expect(queries('the N+1 route, its shape allowed')).toMatchObject({
        check: 'on',
        allowed: [{ match: 'FROM users WHERE id', reason: 'known, batched in the next release' }],
        requests: [{ count: 4, repeated: [] }],
      });
      expect(queries('the N+1 route, check off')).toMatchObject({
        check: 'off',
        reason: 'test.override({ queryCheck: false })',
        requests: [{ count: 4 }],
      });
      // The PR comment has a row for each test that repeated a shape, allowed one or opted out.
      const merged = mergeReports([reports]);
      const md = renderMarkdown(merged, countRecords(merged, parsePolicy(undefined)));
      expect(md).toContain('### Query checks');
      expect(md).toContain(
        '| the N+1 route, checked | on | GET /users/n-plus-one: `SELECT email FROM users WHERE id = ?` 3× |',
      );
      expect(md).toContain(
        '| with the shape allowed › the N+1 route, its shape allowed | on; allowed: `FROM users WHERE id` (known, batched in the next release) | – |',
      );
      // Off, the repeats are still shown: not enforced is not unseen.
      expect(md).toContain(
        '| with the check off › the N+1 route, check off | off (test.override({ queryCheck: false })) | GET /users/n-plus-one: `SELECT email FROM users WHERE id = ?` 3× |',
      );
      expect(md).not.toMatch(/\| the joined route, checked \|/);
      // The HTML report has the same table, escaped.
      const html = renderHtml(merged, 2, countRecords(merged, parsePolicy(undefined)));
      expect(html).toContain('<h2>Query checks</h2>');
      expect(html).toContain(
        '<td>the N+1 route, checked</td><td>on</td><td>GET /users/n-plus-one: <code>SELECT email FROM users WHERE id = ?</code> 3×</td>',
      );
      expect(html).toContain(
        '<td>on; allowed: <code>FROM users WHERE id</code> (known, batched in the next release)</td>',
      );
      expect(html).toContain('<td>off (test.override({ queryCheck: false }))</td>');
      expect(html.match(/<table id="queries">[\s\S]*?<\/table>/)?.[0].match(/<tr class=/g)).toHaveLength(3);
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
