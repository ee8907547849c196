/**
 * The scaling check (n_plus_one_control's idea on template clones): the same request against
 * fresh clones of the template seeded at 2 and 10 rows. An N+1 (one author query per ticket)
 * grows with the rows and fails `toScaleFlat()` with the shape and its count at each scale;
 * the example app's own list and the same data in one include stay flat.
 */
import '../../example/test/register.ts';
import express from 'express';
import { createApp } from '../../example/src/app.ts';
import type { PrismaClient } from '../../example/src/db.ts';
import { describe, expect, test } from '../../fixtures/vitest.ts';

const withN1 = ({ prisma }: { prisma: unknown }) => {
  const p = prisma as PrismaClient;
  const app = express();
  app.get('/spec/authors-n-plus-one', async (_req, res) => {
    const tickets = await p.ticket.findMany({ orderBy: { id: 'asc' } });
    for (const t of tickets) await p.user.findUnique({ where: { id: t.authorId } });
    res.json(tickets.length);
  });
  app.get('/spec/authors-included', async (_req, res) => {
    res.json((await p.ticket.findMany({ orderBy: { id: 'asc' }, include: { author: true } })).length);
  });
  app.use(createApp({ prisma: p, log: () => {} }));
  return app;
};

async function seedTickets({ prisma }: { prisma: PrismaClient }, rows: number) {
  const author = await prisma.user.create({ data: { email: 'scale@x.test', name: 'Scale' } });
  await prisma.ticket.createMany({
    data: Array.from({ length: rows }, (_, i) => ({ authorId: author.id, title: `T${i}`, body: 'b' })),
  });
}

describe('queryScaling', () => {
  test.override({ queryCheck: false });

  test('an N+1 grows with the rows: the shape with its count at each scale', async ({ queryScaling }) => {
    const result = await queryScaling(seedTickets, (request) => request.get('/spec/authors-n-plus-one').expect(200), {
      app: withN1,
    });
    expect(result.runs.map((r) => r.rows)).toEqual([2, 10]);
    expect(result.grew).toEqual([{ shape: expect.stringMatching(/FROM "public"\."users" WHERE/), counts: [2, 10] }]);
    expect(() => expect(result).toScaleFlat()).toThrow(
      /^Request "GET \/spec\/authors-n-plus-one" ran more queries with more rows \(N\+1\): "SELECT … FROM "public"\."users" WHERE .*" 2× at 2 rows, 10× at 10 rows; 3 queries at 2 rows, 11 queries at 10 rows\.$/,
    );
  });

  test('the same data in one include, and the example app’s list, stay flat', async ({ queryScaling }) => {
    const included = await queryScaling(seedTickets, (request) => request.get('/spec/authors-included').expect(200), {
      app: withN1,
      scales: [1, 5, 25],
    });
    expect(included.grew).toEqual([]);
    expect(included).toScaleFlat();
    // The configured app (config key app), unchanged.
    const list = await queryScaling(seedTickets, (request) => request.get('/api/tickets?limit=50').expect(200));
    expect(list).toScaleFlat();
    expect(list.runs[0]?.requests[0]?.count).toBe(list.runs[1]?.requests[0]?.count);
  });

  test('bad scales and a send() that sends nothing are clear errors; no clone is left behind', async ({
    queryScaling,
    db,
  }) => {
    // The clones are known by name from inside seed(): other files' clones come and go meanwhile.
    const seeded: string[] = [];
    const noteClone = async ({ db: clone }: { db: { name: string } }) => {
      seeded.push(clone.name);
    };
    await expect(queryScaling(noteClone, (r) => r.get('/health'), { scales: [10, 2] })).rejects.toThrow(
      "queryScaling's scales are [10,2]; expected two or more increasing whole row counts, e.g. [2, 10].",
    );
    expect(seeded).toEqual([]);
    await expect(queryScaling(noteClone, async () => {})).rejects.toThrow(
      /^queryScaling's send\(\) made no request: return the request/,
    );
    expect(seeded).toHaveLength(1);
    expect(await db.rows('SELECT datname FROM pg_database WHERE datname = ANY($1)', [seeded])).toEqual([]);
  });
});
