import { describe, expect, test } from '../../fixtures/chaos.ts';
import { chaosApp } from './chaos-app.ts';
import './register.ts';

/** Polls `fn` every 50 ms until it returns true; resolves with the ms it took, or fails after `limitMs`. */
async function until(fn: () => Promise<boolean>, limitMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    if (await fn()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${limitMs} ms`);
}

async function aUser(http: ReturnType<typeof chaosApp>['http'], tag: string): Promise<number> {
  const res = await http
    .post('/api/users')
    .send({ email: `${tag}@example.test`, name: tag })
    .expect(201);
  return res.body.id as number;
}

describe('the example app while Postgres misbehaves (through the chaos proxy)', () => {
  test('Postgres down: 503 "unavailable" with Retry-After, then fail-fast; back up: recovers without a restart', async ({
    chaosPrisma,
    chaos,
  }) => {
    const { app, http, counter } = chaosApp(chaosPrisma);
    const authorId = await aUser(http, 'down');

    await chaos.db.down();
    const read = await http.get('/api/tickets');
    expect(read.status).toBe(503);
    expect(read.body.error).toMatchObject({ code: 'unavailable' });
    expect(read.body.error.message).toMatch(
      /^The database is unavailable \((DatabaseNotReachable|ConnectionClosed|P1001)/,
    );
    expect(Number(read.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const write = await http.post('/api/tickets').send({ authorId, title: 'while down', body: 'x' });
    expect(write.status).toBe(503);
    expect(write.headers['retry-after']).toMatch(/^\d+$/);
    expect((await http.get('/health')).body).toEqual({ status: 'degraded', db: 'down' });

    // Three failed operations open the circuit: now requests fail fast without touching the database.
    const t = performance.now();
    const fast = await http.get('/api/tickets');
    const fastMs = performance.now() - t;
    expect(fast.status).toBe(503);
    expect(fast.body.error.message).toMatch(/failing fast for \d+ s after repeated failures/);
    expect(fastMs).toBeLessThan(1_000);
    expect(await counter('circuit_breaker_open', { dependency: 'database' })).toBe(1);
    expect(await counter('dependency_retries_total', { dependency: 'database' })).toBeGreaterThanOrEqual(2);

    await chaos.db.up();
    const recoveredMs = await until(async () => (await http.get('/api/tickets')).status === 200, 5_000);
    expect(recoveredMs).toBeLessThan(2_000); // cool-down 500 ms, then one trial call
    await http.post('/api/tickets').send({ authorId, title: 'after recovery', body: 'x' }).expect(201);
    expect((await http.get('/health')).body).toEqual({ status: 'ok', db: 'up' });
    expect(await counter('circuit_breaker_open', { dependency: 'database' })).toBe(0);
    expect(app.locals.dependencies.dbBreaker.state).toBe('closed');
  });

  test('a reset connection under a read is retried with backoff, and the client never notices', async ({
    chaosPrisma,
    chaos,
  }) => {
    const { http, logs, counter } = chaosApp(chaosPrisma);
    const authorId = await aUser(http, 'reset-read');
    const created = await http.post('/api/tickets').send({ authorId, title: 'read me', body: 'x' }).expect(201);
    const lost = chaos.db.loseReply(/SELECT/);
    const res = await http.get(`/api/tickets/${created.body.id}`);
    expect(await lost).toBe(true);
    expect(res.status).toBe(200);
    expect(res.body.title).toBe('read me');
    expect(await counter('dependency_retries_total', { dependency: 'database', reason: 'ConnectionClosed' })).toBe(1);
    expect(logs.find((l) => l.msg === 'retry')).toMatchObject({ dependency: 'database', attempt: 1 });
  });

  test('Postgres kills every connection (57P01, as on a restart): the next requests still succeed', async ({
    chaosPrisma,
    db,
  }) => {
    const { http } = chaosApp(chaosPrisma);
    await http.get('/api/tickets').expect(200);
    const killed = await db.rows<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = ''`,
    );
    expect(killed.length).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) await http.get('/api/tickets').expect(200);
  });

  test('a database slower than the timeout answers 503 in time instead of hanging', async ({ chaosPrisma, chaos }) => {
    const { http } = chaosApp(chaosPrisma, { resilience: { db: { timeoutMs: 600 } } });
    // Warm up (connection, query plans) before the clock matters.
    await until(async () => (await http.get('/api/tickets')).status === 200, 10_000);
    chaos.db.latency({ ms: 3_000 });
    const t = performance.now();
    const res = await http.get('/api/tickets');
    const ms = performance.now() - t;
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(/did not answer in time: "Ticket.findMany" took longer than 600 ms/);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(ms).toBeGreaterThanOrEqual(595);
    expect(ms).toBeLessThan(2_500); // without the timeout: ≥ 3000 ms
    await chaos.db.clear();
    await until(async () => (await http.get('/api/tickets')).status === 200, 10_000);
  });
});

describe('idempotent writes under lost replies', () => {
  const count = async (db: { rows: (q: string, v: unknown[]) => Promise<{ n: number }[]> }, title: string) =>
    (await db.rows('SELECT count(*)::int AS n FROM tickets WHERE title = $1', [title]))[0]?.n;

  test('without an Idempotency-Key, a lost INSERT reply gives 503 and the client retry writes twice (why keys exist)', async ({
    chaosPrisma,
    chaos,
    db,
  }) => {
    const { http } = chaosApp(chaosPrisma);
    const authorId = await aUser(http, 'nokey');
    const lost = chaos.db.loseReply(/INSERT INTO "public"\."tickets"/);
    const first = await http.post('/api/tickets').send({ authorId, title: 'no key', body: 'x' });
    expect(await lost).toBe(true);
    // The write may have committed: the app must not retry it blindly, and it says "retry later".
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toMatch(/^\d+$/);
    await http.post('/api/tickets').send({ authorId, title: 'no key', body: 'x' }).expect(201);
    expect(await count(db, 'no key')).toBe(2);
  });

  test('a lost COMMIT reply: the app reads the key back and answers 201; a retry replays it; one row', async ({
    chaosPrisma,
    chaos,
    db,
  }) => {
    const { http, logs } = chaosApp(chaosPrisma);
    const authorId = await aUser(http, 'commit');
    const lost = chaos.db.loseReply('COMMIT');
    const first = await http
      .post('/api/tickets')
      .set('Idempotency-Key', 'commit-lost-1')
      .send({ authorId, title: 'lost commit', body: 'x' });
    expect(await lost).toBe(true);
    expect(first.status).toBe(201);
    expect(first.headers.location).toBe(`/api/tickets/${first.body.id}`);
    expect(logs.find((l) => l.msg === 'idempotency.commit_unknown')).toMatchObject({ resolved: 'committed' });

    const retry = await http
      .post('/api/tickets')
      .set('Idempotency-Key', 'commit-lost-1')
      .send({ authorId, title: 'lost commit', body: 'x' });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.body).toEqual(first.body);
    expect(await count(db, 'lost commit')).toBe(1);
  });

  test('a lost INSERT reply inside the transaction: 503, the retry with the same key writes it once', async ({
    chaosPrisma,
    chaos,
    db,
  }) => {
    const { http } = chaosApp(chaosPrisma);
    const authorId = await aUser(http, 'insert');
    const lost = chaos.db.loseReply(/INSERT INTO "public"\."tickets"/);
    const send = () =>
      http
        .post('/api/tickets')
        .set('Idempotency-Key', 'insert-lost-1')
        .send({ authorId, title: 'lost insert', body: 'x' });
    const first = await send();
    expect(await lost).toBe(true);
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe('unavailable');
    expect(await count(db, 'lost insert')).toBe(0); // rolled back with its transaction
    const second = await send();
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    const third = await send();
    expect(third.headers['idempotent-replayed']).toBe('true');
    expect(third.body.id).toBe(second.body.id);
    expect(await count(db, 'lost insert')).toBe(1);
  });

  test('routes that open their own transactions join the idempotent one (messages, jobs)', async ({
    chaosPrisma,
    db,
  }) => {
    const { http } = chaosApp(chaosPrisma);
    const authorId = await aUser(http, 'joins');
    const ticket = await http.post('/api/tickets').send({ authorId, title: 'thread', body: 'x' }).expect(201);
    // POST /messages runs a batch $transaction: inside an idempotent request it becomes part of it.
    const message = () =>
      http
        .post(`/api/tickets/${ticket.body.id}/messages`)
        .set('Idempotency-Key', 'msg-1')
        .send({ authorId, body: 'once' });
    const [m1, m2] = [await message(), await message()];
    expect([m1.status, m2.status, m2.headers['idempotent-replayed']]).toEqual([201, 201, 'true']);
    expect(m2.body.id).toBe(m1.body.id);
    expect(await db.rows("SELECT count(*)::int AS n FROM messages WHERE body = 'once'")).toEqual([{ n: 1 }]);

    // POST /api/jobs starts background work: the job row commits with the request, the run goes on outside it.
    const agent = await http.post('/api/users').send({ email: 'agent-j@example.test', name: 'J', role: 'agent' });
    const job = () => http.post('/api/jobs').set('Idempotency-Key', 'job-1').send({ agentId: agent.body.id });
    const [j1, j2] = [await job(), await job()];
    expect([j1.status, j2.status, j2.headers['idempotent-replayed']]).toEqual([202, 202, 'true']);
    expect(j2.body.id).toBe(j1.body.id);
    expect(await db.rows('SELECT count(*)::int AS n FROM jobs')).toEqual([{ n: 1 }]);
    await until(async () => (await http.get(`/api/jobs/${j1.body.id}`)).body.status === 'done', 10_000);
  });

  test('concurrent duplicates write once; a reused key with another body is refused; a bad key is a 400', async ({
    chaosPrisma,
    db,
  }) => {
    const { http } = chaosApp(chaosPrisma);
    const authorId = await aUser(http, 'dupes');
    const body = { authorId, title: 'concurrent', body: 'x' };
    const all = await Promise.all(
      Array.from({ length: 5 }, () => http.post('/api/tickets').set('Idempotency-Key', 'dup-1').send(body)),
    );
    expect(all.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(all.map((r) => r.body.id)).size).toBe(1);
    expect(all.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
    expect(await count(db, 'concurrent')).toBe(1);

    const reused = await http
      .post('/api/tickets')
      .set('Idempotency-Key', 'dup-1')
      .send({ ...body, title: 'something else' });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({
      code: 'idempotency_key_reused',
      message: 'Idempotency-Key "dup-1" was already used for a different request (POST /api/tickets); use a new key',
    });
    const bad = await http.post('/api/tickets').set('Idempotency-Key', 'has space').send(body);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual({ 'Idempotency-Key': 'must be 1 to 255 visible ASCII characters' });
    // A failed request stores nothing: the key stays free.
    const invalid = await http.post('/api/tickets').set('Idempotency-Key', 'dup-2').send({ authorId });
    expect(invalid.status).toBe(400);
    await http
      .post('/api/tickets')
      .set('Idempotency-Key', 'dup-2')
      .send({ ...body, title: 'second try' })
      .expect(201);
  });
});
