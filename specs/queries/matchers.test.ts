/**
 * The query matchers on the example app over Prisma 7 (@prisma/adapter-pg) and a real
 * Postgres, with two spec-only routes of known shape: an N+1 (one author query per ticket)
 * and the same data in one include. Counts are the same in file, test and rollback isolation
 * (transaction control is left out), and the failure messages list the shapes and counts.
 */
import '../../example/test/register.ts';
import express from 'express';
import { createApp } from '../../example/src/app.ts';
import type { PrismaClient } from '../../example/src/db.ts';
import { describe, expect, queriesOf, test } from '../../fixtures/vitest.ts';
import { checkPlans, shapeOf } from '../../plugins/queries/index.ts';

const TICKETS = 6;

test.override('app', ({ prisma }) => {
  const p = prisma as PrismaClient;
  const app = express();
  app.get('/spec/tickets-n-plus-one', async (_req, res) => {
    const tickets = await p.ticket.findMany({ orderBy: { id: 'asc' } });
    const out = [];
    // One query per ticket, awaited in turn (Prisma batches only findUnique calls of one tick).
    for (const t of tickets) out.push({ ...t, author: await p.user.findUnique({ where: { id: t.authorId } }) });
    res.json(out);
  });
  app.get('/spec/tickets-included', async (_req, res) => {
    res.json(await p.ticket.findMany({ orderBy: { id: 'asc' }, include: { author: true } }));
  });
  app.post('/spec/tickets-in-a-transaction', async (_req, res) => {
    const made = await p.$transaction(async (tx) => {
      const u = await tx.user.create({ data: { email: `tx-${Date.now()}@x.test`, name: 'Tx' } });
      return tx.ticket.create({ data: { authorId: u.id, title: 'In a transaction', body: 'b' } });
    });
    res.status(201).json(made);
  });
  // A filter on a column no index covers.
  app.get('/spec/tickets-by-body', async (req, res) => {
    res.json(await p.ticket.findMany({ where: { body: String(req.query.body) } }));
  });
  app.use(createApp({ prisma: p, log: () => {} }));
  // The project's Register types `app` as the example's (with its log lines); this one logs nothing.
  return app as never;
});

async function seed(prisma: PrismaClient) {
  await prisma.ticket.deleteMany();
  const author = await prisma.user.upsert({
    where: { email: 'author@x.test' },
    create: { email: 'author@x.test', name: 'Author' },
    update: {},
  });
  await prisma.ticket.createMany({
    data: Array.from({ length: TICKETS }, (_, i) => ({ authorId: author.id, title: `T${i}`, body: 'b' })),
  });
}

for (const isolation of ['file', 'test', 'rollback'] as const) {
  describe(`in ${isolation} isolation`, () => {
    test.override({ isolation, queryCheck: false });

    test('an N+1 runs 1 + N queries, and its repeated shape is named with its count', async ({ prisma, request }) => {
      await seed(prisma);
      const res = await request.get('/spec/tickets-n-plus-one').expect(200);
      expect(res.body).toHaveLength(TICKETS);
      expect(res).toRunQueries(1 + TICKETS);
      expect(res).not.toRunAtMostQueries(TICKETS);
      expect(res).not.toHaveNoRepeatedQueries();
      const err = (() => {
        try {
          expect(res).toHaveNoRepeatedQueries();
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err?.message).toMatch(
        /^Request "GET \/spec\/tickets-n-plus-one" \(trace [0-9a-f]{8}…\) ran the same query shape more than once \(N\+1\): "SELECT .*FROM "public"\."users" WHERE .*" 6×; 7 queries in all\.$/,
      );
      // Allowed by a substring of the shape, or a regular expression.
      expect(res).toHaveNoRepeatedQueries({ allow: ['FROM "public"."users"'] });
      expect(res).toHaveNoRepeatedQueries({ allow: [/"users"/] });
    });

    test('the same data in one include repeats no shape, and runs the same count at any size', async ({
      prisma,
      request,
    }) => {
      await seed(prisma);
      const res = await request.get('/spec/tickets-included').expect(200);
      expect(res.body).toHaveLength(TICKETS);
      expect(res).toHaveNoRepeatedQueries();
      const count = queriesOf(res)?.count ?? 0;
      expect(count).toBeGreaterThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(2);
      await prisma.ticket.createMany({
        data: Array.from({ length: 20 }, (_, i) => ({ authorId: res.body[0].authorId, title: `U${i}`, body: 'b' })),
      });
      const more = await request.get('/spec/tickets-included').expect(200);
      expect(more.body).toHaveLength(TICKETS + 20);
      expect(more).toRunQueries(count);
    });

    test("a transaction's statements are the request's; BEGIN and COMMIT are not counted", async ({ request }) => {
      const res = await request.post('/spec/tickets-in-a-transaction').expect(201);
      expect(res).toRunQueries(2);
      const q = queriesOf(res);
      expect(q?.statements.map((s) => s.shape.split(' ')[0])).toEqual(['INSERT', 'INSERT']);
    });
  });
}

describe('what the matchers refuse', () => {
  test.override({ queryCheck: false });

  test('a value that is not a response of the request fixture: a clear failure', ({ prisma: _ }) => {
    expect(() => expect({ status: 200 }).toRunQueries(1)).toThrow(
      /^toRunQueries\(\) expects a response from shipgate's `request` fixture with query capture on \(SHIPGATE_QUERY_CAPTURE, config key queries\.capture\); got object\.$/,
    );
  });

  test("the test's own setup queries are no request's", async ({ db, request }) => {
    await db.query("SELECT 'setup before' AS marker");
    const res = await request.get('/health').expect(200);
    await db.query("SELECT 'setup after' AS marker");
    const q = queriesOf(res);
    expect(q?.count).toBeGreaterThanOrEqual(1);
    expect(q?.statements.some((s) => s.text.includes('marker'))).toBe(false);
  });
});

describe('plans: the queries a request ran, explained on its database', () => {
  test.override({ queryCheck: false, isolation: 'test' });

  test('a filter no index serves is named with the index to add; a lookup by key passes', async ({ db, request }) => {
    const [author] = await db.rows<{ id: number }>(
      `INSERT INTO users (email, name) VALUES ('plans@x.test', 'P') RETURNING id`,
    );
    await db.query(
      `INSERT INTO tickets (title, body, "authorId", "updatedAt")
       SELECT 'T' || i, 'body ' || (i % 500), $1, now() FROM generate_series(1, 20000) i`,
      [author?.id],
    );
    await db.query('ANALYZE tickets');
    const res = await request.get('/spec/tickets-by-body?body=body%207').expect(200);
    expect(res.body).toHaveLength(40);
    const err = await expect(res)
      .toUseIndexes()
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err?.message).toMatch(
      /^Request "GET \/spec\/tickets-by-body\?body=body%207" \(trace [0-9a-f]{8}…\) has plans that scan a table of 10,000 rows or more in full:\nQuery "SELECT … FROM "public"\."tickets" WHERE .*" scans all of "tickets" \(20,000 rows\) for .*body.*: CREATE INDEX ON "tickets" \("body"\);?$/,
    );
    await expect(res).not.toUseIndexes();
    // Under the threshold it is not judged; a lookup by primary key uses it.
    await expect(res).toUseIndexes({ minRows: 50_000 });
    const one = await request
      .get(`/api/tickets/${(await db.rows<{ id: number }>('SELECT min(id) AS id FROM tickets'))[0]?.id}`)
      .expect(200);
    await expect(one).toUseIndexes({ minRows: 1_000 });
  });
});

describe('plans in rollback isolation', () => {
  test.override({ queryCheck: false, isolation: 'rollback' });

  test("an EXPLAIN that fails is reported as not explained, and the test's transaction goes on", async ({ db }) => {
    await db.query(`INSERT INTO users (email, name) VALUES ('rollback-plans@x.test', 'R')`);
    // A statement that no longer runs here (its table is gone): EXPLAIN fails on the test's
    // own connection, inside the test's transaction.
    const gone = { text: 'SELECT * FROM "no_such_table" WHERE id = $1', params: ['1'] };
    const check = await checkPlans(db.pool, [{ ...gone, shape: shapeOf(gone.text), control: false, conn: 1, at: 0 }]);
    expect(check.queries).toEqual([]);
    expect(check.notExplained).toEqual([
      {
        shape: 'SELECT * FROM "no_such_table" WHERE id = ?',
        reason: expect.stringMatching(/^EXPLAIN failed: .*no_such_table/),
      },
    ]);
    // The test's transaction was not aborted: its row is still there.
    expect(await db.rows(`SELECT name FROM users WHERE email = 'rollback-plans@x.test'`)).toEqual([{ name: 'R' }]);
  });
});
