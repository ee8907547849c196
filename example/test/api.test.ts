import './register.ts';
import { describe, expect, test } from '../../fixtures/vitest.ts';

async function makeUser(request: import('supertest').Agent, email = 'ada@example.test') {
  const res = await request.post('/api/users').send({ email, name: 'Ada' }).expect(201);
  return res.body as { id: number; email: string };
}

describe('example app over a real Postgres', () => {
  test('GET /health checks the database', async ({ request }) => {
    const res = await request.get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', db: 'up' });
  });

  test('users: create, read, duplicate email is 409, bad input is 400 with fields', async ({ request }) => {
    const user = await makeUser(request);
    const got = await request.get(`/api/users/${user.id}`).expect(200);
    expect(got.body).toMatchObject({ id: user.id, email: 'ada@example.test', role: 'customer' });
    const dup = await request.post('/api/users').send({ email: 'ada@example.test', name: 'Ada again' }).expect(409);
    expect(dup.body.error.code).toBeDefined();
    const bad = await request.post('/api/users').send({ email: 42 }).expect(400);
    expect(bad.body.error.code).toBe('validation');
    expect(Object.keys(bad.body.error.fields)).toEqual(expect.arrayContaining(['email', 'name']));
    await request.get('/api/users/999999').expect(404);
  });

  test('tickets: create, list with filter and cursor, read, patch, delete', async ({ request }) => {
    const author = await makeUser(request, 'author@example.test');
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request
        .post('/api/tickets')
        .send({
          authorId: author.id,
          title: `Printer jam ${i}`,
          body: 'The printer jams on page two',
          status: i % 2 ? 'pending' : 'open',
        })
        .expect(201);
      expect(res.headers.location).toBe(`/api/tickets/${res.body.id}`);
      ids.push(res.body.id);
    }
    const page1 = await request.get('/api/tickets?limit=2').expect(200);
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.nextCursor).toBeTruthy();
    const page2 = await request
      .get(`/api/tickets?limit=2&cursor=${encodeURIComponent(page1.body.nextCursor)}`)
      .expect(200);
    const seen = [...page1.body.items, ...page2.body.items].map((t: { id: number }) => t.id);
    expect(new Set(seen).size).toBe(4);
    const pending = await request.get('/api/tickets?status=pending').expect(200);
    expect(pending.body.items.every((t: { status: string }) => t.status === 'pending')).toBe(true);
    expect(pending.body.items).toHaveLength(2);

    const id = ids[0];
    await request.patch(`/api/tickets/${id}`).send({ status: 'resolved' }).expect(200);
    const read = await request.get(`/api/tickets/${id}`).expect(200);
    expect(read.body.status).toBe('resolved');
    await request.patch(`/api/tickets/${id}`).send({ status: 'exploded' }).expect(400);
    await request.delete(`/api/tickets/${id}`).expect(204);
    await request.get(`/api/tickets/${id}`).expect(404);
  });

  test('messages belong to a ticket and cascade with it', async ({ request, db }) => {
    const author = await makeUser(request, 'msg@example.test');
    const ticket = (
      await request.post('/api/tickets').send({ authorId: author.id, title: 'VPN', body: 'VPN drops' }).expect(201)
    ).body;
    await request
      .post(`/api/tickets/${ticket.id}/messages`)
      .send({ authorId: author.id, body: 'Still dropping after reboot' })
      .expect(201);
    const list = await request.get(`/api/tickets/${ticket.id}/messages`).expect(200);
    expect(JSON.stringify(list.body)).toContain('Still dropping after reboot');
    await request.delete(`/api/tickets/${ticket.id}`).expect(204);
    const left = await db.rows('SELECT 1 FROM messages WHERE "ticketId" = $1', [ticket.id]);
    expect(left).toHaveLength(0);
  });

  test('search ranks full-text matches from tickets and messages', async ({ request }) => {
    const author = await makeUser(request, 'search@example.test');
    await request
      .post('/api/tickets')
      .send({ authorId: author.id, title: 'Refund for duplicate charge', body: 'Charged twice' })
      .expect(201);
    const other = (
      await request
        .post('/api/tickets')
        .send({ authorId: author.id, title: 'Login issue', body: 'Cannot sign in' })
        .expect(201)
    ).body;
    await request
      .post(`/api/tickets/${other.id}/messages`)
      .send({ authorId: author.id, body: 'Also asking about a refund' })
      .expect(201);
    await request
      .post('/api/tickets')
      .send({ authorId: author.id, title: 'Dark mode', body: 'Feature request' })
      .expect(201);
    const res = await request.get('/api/search?q=refund').expect(200);
    const hits = (res.body.results ?? res.body) as { title: string; inTicket: boolean; messageHits: number }[];
    expect(hits.map((h) => h.title)).toEqual(['Refund for duplicate charge', 'Login issue']);
    expect(hits[1]).toMatchObject({ inTicket: false, messageHits: 1 });
    await request.get('/api/search').expect(400);
  });

  test('trace ids: traceparent is honoured and echoed, one log line per request with its duration', async ({
    request,
  }) => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await request.get('/health').set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`).expect(200);
    expect(res.headers['x-request-id']).toBe(traceId);
    expect(res.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(res.headers['server-timing']).toMatch(/^app;dur=\d+(\.\d+)?$/);

    const rid = await request.get('/health').set('x-request-id', 'req-123.abc').expect(200);
    expect(rid.headers['x-request-id']).toBe('req-123.abc');

    const gen = await request.get('/health').expect(200);
    expect(gen.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  test('every request writes exactly one structured log line', async ({ request, app }) => {
    // The test app factory captures the log lines on app.locals.
    const logs = app.locals.logs;
    const before = logs.length;
    await request.get('/health').set('x-request-id', 'one-line-please').expect(200);
    await request.get('/api/tickets/abc').expect(400);
    const lines = logs.slice(before).filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ traceId: 'one-line-please', method: 'GET', status: 200 });
    expect(typeof lines[0]?.durationMs).toBe('number');
    expect(lines[1]).toMatchObject({ status: 400 });
  });
});
