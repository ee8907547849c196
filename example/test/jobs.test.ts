import './register.ts';
import supertest from 'supertest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { createApp } from '../src/app.ts';
import { triage } from '../src/jobs.ts';

type Line = Record<string, unknown>;

/** The real app with fast steps, its log captured; one per test. */
function appWith(prisma: Parameters<typeof createApp>[0]['prisma'], stepMs = 5) {
  const logs: Line[] = [];
  const app = createApp({ prisma, jobStepMs: stepMs, log: (l) => logs.push(l as Line) });
  return { request: supertest(app), logs };
}

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('triage', () => {
  test('suggests a priority from the words of the ticket and drafts a reply', () => {
    const t = (title: string, body = '') => triage({ title, body, priority: 'normal' }, 'Cleo Customer', 'Ada');
    expect(t('Checkout is down').priority).toBe('urgent');
    expect(t('Charged twice this month').priority).toBe('high');
    expect(t('Feature request: dark mode').priority).toBe('low');
    expect(t('Question about my plan').priority).toBe('normal');
    expect(t('Checkout is down').body).toBe(
      'Hi Cleo, thanks for reporting "Checkout is down". We have set it to urgent priority and an agent is working on it now and will update you within the hour. — Ada',
    );
  });
});

describe('/api/jobs over a real Postgres', () => {
  test.override({ isolation: 'test' });

  test('a run drafts one reply per open ticket, step by step, and sends them', async ({ prisma }) => {
    // 400 ms per step: the 202 must be answered before the first step ends, and the early send
    // must come before the second. 30 ms steps lost that race on a loaded 2-core machine.
    const { request, logs } = appWith(prisma, 400);
    const agent = await prisma.user.create({ data: { email: 'agent@example.test', name: 'Ada', role: 'agent' } });
    const customer = await prisma.user.create({ data: { email: 'c@example.test', name: 'Cleo Customer' } });
    const tickets = [];
    for (const [title, status] of [
      ['Site is down', 'open'],
      ['Refund please', 'open'],
      ['Old thing', 'closed'],
    ] as const) {
      tickets.push(await prisma.ticket.create({ data: { title, body: title, status, authorId: customer.id } }));
    }

    const started = await request
      .post('/api/jobs')
      .set('x-request-id', 'run-1')
      .send({ agentId: agent.id })
      .expect(202);
    expect(started.headers.location).toBe(`/api/jobs/${started.body.id}`);
    expect(started.body).toMatchObject({ total: 2, processed: 0, agentId: agent.id, traceId: 'run-1' });

    // Sending before it is done is refused.
    const early = await request.post(`/api/jobs/${started.body.id}/send`).expect(409);
    expect(early.body.error.message).toMatch(/^Job \d+ is (queued|running); only a done job can be sent$/);

    const seen = new Set<number>();
    const done = await waitFor(
      async () => (await request.get(`/api/jobs/${started.body.id}`).expect(200)).body,
      (j) => {
        seen.add(j.processed);
        return j.status === 'done';
      },
    );
    expect(done).toMatchObject({ status: 'done', processed: 2, total: 2, percent: 100 });
    expect(seen.size).toBeGreaterThan(1);
    expect(
      done.drafts.map((d: { ticket: { title: string }; priority: string }) => [d.ticket.title, d.priority]),
    ).toEqual([
      ['Site is down', 'urgent'],
      ['Refund please', 'high'],
    ]);
    // The runner's lines carry the trace id of the request that started it.
    expect(logs.filter((l) => String(l.msg).startsWith('job.')).map((l) => [l.msg, l.traceId])).toEqual([
      ['job.started', 'run-1'],
      ['job.done', 'run-1'],
    ]);

    const sent = await request.post(`/api/jobs/${started.body.id}/send`).expect(200);
    expect(sent.body).toMatchObject({ sent: 2, job: { status: 'sent' } });
    const after = await prisma.ticket.findMany({ orderBy: { id: 'asc' }, include: { messages: true } });
    expect(after.map((t) => [t.title, t.status, t.priority, t.messages.map((m) => m.authorId)])).toEqual([
      ['Site is down', 'pending', 'urgent', [agent.id]],
      ['Refund please', 'pending', 'high', [agent.id]],
      ['Old thing', 'closed', 'normal', []],
    ]);
    await request.post(`/api/jobs/${started.body.id}/send`).expect(409);
    expect(await prisma.message.count()).toBe(2);
    const list = await request.get('/api/jobs').expect(200);
    expect(list.body.items.map((j: { id: number; status: string }) => [j.id, j.status])).toEqual([
      [started.body.id, 'sent'],
    ]);
  });

  test('bad input: every problem is a 400 with its field; unknown jobs are 404', async ({ prisma }) => {
    const { request } = appWith(prisma);
    const customer = await prisma.user.create({ data: { email: 'c2@example.test', name: 'Cleo' } });
    const missing = await request.post('/api/jobs').send({}).expect(400);
    expect(missing.body.error).toMatchObject({ code: 'validation', fields: { agentId: 'is required' } });
    const notAgent = await request.post('/api/jobs').send({ agentId: customer.id }).expect(400);
    expect(notAgent.body.error.fields).toEqual({ agentId: 'must be an agent or an admin' });
    const unknown = await request.post('/api/jobs').send({ agentId: 999_999 }).expect(400);
    expect(unknown.body.error.fields).toEqual({ agentId: 'does not exist' });
    await request.get('/api/jobs/999999').expect(404);
    await request.post('/api/jobs/999999/send').expect(404);
    expect(await prisma.job.count()).toBe(0);
  });

  test('a run whose job disappears mid-way stops quietly', async ({ prisma, db }) => {
    const { request, logs } = appWith(prisma, 40);
    const agent = await prisma.user.create({ data: { email: 'a3@example.test', name: 'Ada', role: 'admin' } });
    for (let i = 0; i < 5; i++) {
      await prisma.ticket.create({ data: { title: `T${i}`, body: 'b', authorId: agent.id } });
    }
    const started = await request
      .post('/api/jobs')
      .set('x-request-id', 'gone-1')
      .send({ agentId: agent.id })
      .expect(202);
    await db.query('DELETE FROM jobs WHERE id = $1', [started.body.id]);
    const line = await waitFor(
      async () => logs.find((l) => l.msg === 'job.abandoned' || l.msg === 'job.failed'),
      (l) => l !== undefined,
    );
    expect(line).toMatchObject({ msg: 'job.abandoned', traceId: 'gone-1', jobId: started.body.id });
    expect(await prisma.jobDraft.count()).toBe(0);
  });
});
