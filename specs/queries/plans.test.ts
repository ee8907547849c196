/**
 * Plan checks on a real Postgres, on statements a pg client sent through the query tap: each
 * is explained with the parameters the tap read from its Bind. A filtered scan of a 50,000-row
 * table is flagged with the index that fixes it, and running that very suggestion clears it; a
 * 100-row table is not flagged; a NULL parameter is bound as NULL (and EXPLAIN changes no
 * rows); an INSERT, DDL or a binary parameter gets a reason instead of a plan.
 */
import pg from 'pg';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import {
  type CapturedStatement,
  explainPlan,
  PlanCheckError,
  type PlanNode,
  planProblems,
  seqScanTables,
  startQueryTap,
  tableRows,
} from '../../plugins/queries/index.ts';

/** Runs `work` on a pg client through a fresh tap; the statements it sent, control left out. */
async function captured(url: string, work: (c: pg.Client) => Promise<unknown>): Promise<CapturedStatement[]> {
  await using tap = await startQueryTap(url);
  const c = new pg.Client({ connectionString: tap.url(url) });
  await c.connect();
  try {
    await work(c);
  } finally {
    await c.end();
  }
  return tap.statements().filter((s) => !s.control);
}

/** The plan of `stmt`, failing the test with the reason when there is none. */
async function planOf(pool: pg.Pool, stmt: CapturedStatement | undefined): Promise<PlanNode> {
  if (!stmt) throw new Error('statement not captured');
  const r = await explainPlan(pool, stmt);
  if (!r.explained) throw new Error(`"${stmt.text}" not explained: ${r.reason}`);
  return r.plan;
}

async function problemsOf(pool: pg.Pool, stmt: CapturedStatement | undefined) {
  const plan = await planOf(pool, stmt);
  return planProblems(plan, await tableRows(pool, seqScanTables(plan)));
}

/** A table of `rows` tickets, analyzed so pg_class.reltuples knows its size. */
async function ticketsTable(pool: pg.Pool, name: string, rows: number): Promise<void> {
  await pool.query(
    `CREATE TABLE ${name} (id int PRIMARY KEY, status text NOT NULL, "authorId" int NOT NULL,
       created_at timestamptz NOT NULL, note text DEFAULT 'kept')`,
  );
  await pool.query(
    `INSERT INTO ${name} (id, status, "authorId", created_at)
       SELECT i, CASE WHEN i % 50 = 0 THEN 'open' ELSE 'closed' END, i % 1000,
              timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute'
         FROM generate_series(1, $1::int) i`,
    [rows],
  );
  await pool.query(`ANALYZE ${name}`);
}

describe('plan checks on captured statements', () => {
  // File isolation: the tap's own client must see the tables the test creates on db.pool
  // (in rollback isolation they would be inside the test's uncommitted transaction).
  test.override({ queryCheck: false, isolation: 'file' });

  test('a filter on an unindexed column of 50,000 rows is flagged with its index; with that index, it is not', async ({
    db,
  }) => {
    await ticketsTable(db.pool, 'plan_tickets', 50_000);
    const [byStatus, byAuthor] = await captured(db.url, async (c) => {
      await c.query('SELECT id FROM plan_tickets WHERE status = $1 AND created_at >= $2', [
        'open',
        '2026-01-10T00:00:00Z',
      ]);
      await c.query('SELECT id FROM plan_tickets WHERE "authorId" = $1 ORDER BY created_at DESC LIMIT 10', [7]);
    });
    expect(byStatus?.params).toEqual(['open', '2026-01-10T00:00:00Z']);
    expect(byAuthor?.params).toEqual(['7']);

    const statusProblems = await problemsOf(db.pool, byStatus);
    expect(statusProblems).toEqual([
      {
        kind: 'seq-scan',
        table: 'plan_tickets',
        filter: expect.stringContaining("(status = 'open'::text)"),
        rows: 50_000,
        // the `=` column first, then the range
        suggestion: 'CREATE INDEX ON "plan_tickets" ("status", "created_at");',
      },
    ]);
    const authorProblems = await problemsOf(db.pool, byAuthor);
    expect(authorProblems).toEqual([
      {
        kind: 'seq-scan',
        table: 'plan_tickets',
        filter: '("authorId" = 7)',
        rows: 50_000,
        suggestion: 'CREATE INDEX ON "plan_tickets" ("authorId");',
      },
      {
        kind: 'sort',
        table: 'plan_tickets',
        key: 'created_at DESC',
        rows: 50_000,
        suggestion: 'CREATE INDEX ON "plan_tickets" ("authorId", "created_at" DESC);',
      },
    ]);

    const err = new PlanCheckError([
      { shape: byStatus?.shape ?? '', problems: statusProblems },
      { shape: byAuthor?.shape ?? '', problems: authorProblems },
    ]);
    expect(err.code).toBe('SHIPGATE_QUERIES_PLAN');
    expect(err.message).toMatch(/^3 query plan problems on tables of 10,000 rows or more:\n/);
    const { filter } = statusProblems[0] as { filter: string };
    expect(err.message).toContain(
      `Query "SELECT id FROM plan_tickets WHERE status = ? AND created_at >= ?" scans all of "plan_tickets" (50,000 rows) for ${filter}: CREATE INDEX ON "plan_tickets" ("status", "created_at");`,
    );
    expect(err.message).toContain(
      'Query "SELECT id FROM plan_tickets WHERE "authorId" = ? ORDER BY created_at DESC LIMIT ?" sorts rows of "plan_tickets" (50,000 rows, scanned in full) by created_at DESC: CREATE INDEX ON "plan_tickets" ("authorId", "created_at" DESC);',
    );
    expect(err.message).toMatch(/Add the suggested index in a migration; .*`minRows`/);

    // The suggestions are runnable as they are: with them, neither query is flagged.
    await db.pool.query(statusProblems[0]?.suggestion ?? '');
    await db.pool.query(authorProblems[1]?.suggestion ?? '');
    expect(await problemsOf(db.pool, byStatus)).toEqual([]);
    expect(await problemsOf(db.pool, byAuthor)).toEqual([]);
  });

  test('a filtered scan of a 100-row table is not flagged', async ({ db }) => {
    await ticketsTable(db.pool, 'plan_small', 100);
    const [stmt] = await captured(db.url, (c) => c.query('SELECT id FROM plan_small WHERE status = $1', ['open']));
    const plan = await planOf(db.pool, stmt);
    // It is a filtered seq scan, as on the large table; only the size differs.
    expect(plan).toMatchObject({ 'Node Type': 'Seq Scan', 'Relation Name': 'plan_small', Filter: expect.any(String) });
    expect(await tableRows(db.pool, seqScanTables(plan))).toEqual(new Map([['plan_small', 100]]));
    expect(await problemsOf(db.pool, stmt)).toEqual([]);
    // …and is flagged once the threshold is under its size.
    expect(planProblems(plan, new Map([['plan_small', 100]]), { minRows: 100 })).toHaveLength(1);
  });

  test('a statement with a NULL parameter is explained with it bound, and EXPLAIN changes nothing', async ({ db }) => {
    await ticketsTable(db.pool, 'plan_updates', 50_000);
    const [update] = await captured(db.url, (c) =>
      // run with an author no row has, so the app's own statement changes nothing either
      c.query('UPDATE plan_updates SET note = $1 WHERE "authorId" = $2', [null, 100_000]),
    );
    expect(update?.params).toEqual([null, '100000']);
    const problems = await problemsOf(db.pool, update);
    expect(problems).toEqual([
      {
        kind: 'seq-scan',
        table: 'plan_updates',
        filter: '("authorId" = 100000)',
        rows: 50_000,
        suggestion: 'CREATE INDEX ON "plan_updates" ("authorId");',
      },
    ]);
    // Explained with the author every row has: planned, not run (no ANALYZE), so no note changed.
    const planned = await explainPlan(db.pool, { text: update?.text ?? '', params: [null, '7'] });
    expect(planned.explained).toBe(true);
    const { rows } = await db.pool.query<{ kept: number }>(
      "SELECT count(*)::int AS kept FROM plan_updates WHERE note = 'kept'",
    );
    expect(rows).toEqual([{ kept: 50_000 }]);
  });

  test('an INSERT, DDL, several statements and a binary parameter are not explained, each with the reason', async ({
    db,
  }) => {
    await ticketsTable(db.pool, 'plan_inserts', 10);
    const seen = await captured(db.url, async (c) => {
      await c.query('INSERT INTO plan_inserts (id, status, "authorId", created_at) VALUES ($1, $2, $3, now())', [
        1_000,
        'open',
        1,
      ]);
      await c.query('CREATE INDEX plan_inserts_status ON plan_inserts (status)');
      await c.query('SELECT 1; SELECT 2');
      // pg sends a Buffer in binary format: the tap cannot know its value
      await c.query('SELECT id FROM plan_inserts WHERE note = convert_from($1::bytea, $2)', [
        Buffer.from('kept'),
        'UTF8',
      ]);
    });
    expect(seen.map((s) => s.text.split(' ')[0])).toEqual(['INSERT', 'CREATE', 'SELECT', 'SELECT']);
    expect(seen[3]?.params).toStrictEqual([undefined, 'UTF8']);
    const reasons = [];
    for (const s of seen) reasons.push(await explainPlan(db.pool, s));
    expect(reasons).toEqual([
      { explained: false, reason: 'it is an INSERT without a WHERE: it reads no table, so no plan to check' },
      { explained: false, reason: 'it is a CREATE statement, not a SELECT, UPDATE, DELETE or WITH' },
      { explained: false, reason: 'it holds several statements (a simple query): each has its own plan' },
      { explained: false, reason: 'parameter $1 was sent in binary format, so its value is unknown' },
    ]);
    // A second statement in the text is never run: the open row this DELETE would remove stays.
    const sneaky = await explainPlan(db.pool, { text: "SELECT 1; DELETE FROM plan_inserts WHERE status = 'open'" });
    expect(sneaky).toEqual(reasons[2]);
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM plan_inserts WHERE status = 'open'",
    );
    expect(rows).toEqual([{ n: 1 }]);
  });

  test('an error from Postgres is a reason, not a throw', async ({ db }) => {
    const r = await explainPlan(db.pool, { text: 'SELECT * FROM plan_no_such_table WHERE id = $1', params: ['1'] });
    expect(r).toEqual({
      explained: false,
      reason: expect.stringMatching(/^EXPLAIN failed: relation "plan_no_such_table" does not exist/),
    });
  });
});
