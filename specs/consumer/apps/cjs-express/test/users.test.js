import { describe, expect, test } from 'shipgate/vitest';

test('POST then GET /users through Express and Prisma', async ({ request }) => {
  await request.post('/users').send({ email: 'ada@example.com', name: 'Ada' }).expect(201);
  const res = await request.get('/users').expect(200);
  expect(res.body.map((u) => u.email)).toEqual(['ada@example.com']);
});

test('a duplicate email is a 409 from the unique index of the 2021 migration', async ({ request }) => {
  await request.post('/users').send({ email: 'bob@example.com' }).expect(201);
  await request.post('/users').send({ email: 'bob@example.com' }).expect(409);
});

describe("rollback isolation: Prisma on shipgate's pool, one pg for both", () => {
  test.override({ isolation: 'rollback' });

  test('writes through Prisma are seen by db.query in the same transaction', async ({ prisma, db }) => {
    await prisma.user.create({ data: { email: 'carol@example.com' } });
    const { rows } = await db.query('SELECT email FROM "User" WHERE email = $1', ['carol@example.com']);
    expect(rows).toHaveLength(1);
  });

  test('and are gone in the next test', async ({ prisma }) => {
    expect(await prisma.user.count({ where: { email: 'carol@example.com' } })).toBe(0);
  });
});
