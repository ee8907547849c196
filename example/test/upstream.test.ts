import { onTestFinished } from 'vitest';
import { type Chaos, describe, expect, test } from '../../fixtures/chaos.ts';
import type { ResilienceOptions } from '../src/dependencies.ts';
import { chaosApp } from './chaos-app.ts';
import { startNotifyProvider } from './notify-upstream.ts';
import './register.ts';

/** The example app with a real notification provider behind an HTTP fault injector, and a ticket to notify about. */
async function setup(chaos: Chaos, prisma: unknown, upstream: ResilienceOptions = {}) {
  const provider = await startNotifyProvider();
  onTestFinished(() => provider.close());
  const faults = await chaos.http({ target: provider.url, name: 'notify provider' });
  const app = chaosApp(prisma, { upstreamUrl: faults.url, resilience: upstream });
  const user = await app.http.post('/api/users').send({ email: 'ann@example.test', name: 'Ann Lee' }).expect(201);
  const ticket = await app.http
    .post('/api/tickets')
    .send({ authorId: user.body.id, title: 'Printer on fire', body: 'Help' })
    .expect(201);
  return { ...app, provider, faults, ticketId: ticket.body.id as number };
}

describe('the example app and its notification provider (HTTP faults in between)', () => {
  test.override({ isolation: 'test' });

  test('sends through the provider; the trace id and an Idempotency-Key go along', async ({ chaos, chaosPrisma }) => {
    const { http, provider, ticketId } = await setup(chaos, chaosPrisma);
    const res = await http
      .post(`/api/tickets/${ticketId}/notify`)
      .set('x-request-id', 'trace-abc')
      .send({})
      .expect(202);
    expect(res.body).toMatchObject({ ticketId, to: 'ann@example.test', attempts: 1 });
    expect(provider.delivered).toEqual([
      expect.objectContaining({
        id: res.body.providerId,
        to: 'ann@example.test',
        subject: `[#${ticketId}] Printer on fire`,
        text: 'Hi Ann Lee, your ticket "Printer on fire" is now open.',
        requestId: 'trace-abc',
        idempotencyKey: expect.stringMatching(/^notify:[0-9a-f-]{36}$/),
      }),
    ]);
  });

  test('429 with Retry-After: 1 is honoured: the retry comes a second later, with the same key; one delivery', async ({
    chaos,
    chaosPrisma,
  }) => {
    const { http, provider, faults, ticketId, counter } = await setup(chaos, chaosPrisma);
    faults.rateLimit(1, { times: 1 });
    const t = performance.now();
    const res = await http.post(`/api/tickets/${ticketId}/notify`).send({ text: 'hello' });
    const ms = performance.now() - t;
    expect(res.status).toBe(202);
    expect(res.body.attempts).toBe(2);
    const [limited, through] = faults.requests;
    expect([limited?.action, limited?.status, through?.action, through?.status]).toEqual([
      'rate-limit',
      429,
      'forwarded',
      202,
    ]);
    const waited = (through?.at ?? 0) - (limited?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(995);
    expect(waited).toBeLessThan(2_500);
    expect(ms).toBeGreaterThanOrEqual(995);
    expect(limited?.headers['idempotency-key']).toBe(through?.headers['idempotency-key']);
    expect(provider.delivered).toHaveLength(1);
    expect(await counter('upstream_request_duration_seconds_count', { outcome: 'rate_limited' })).toBe(1);
  });

  test('5xx twice, then through: retried with exponential backoff and jitter', async ({ chaos, chaosPrisma }) => {
    const { http, provider, faults, ticketId } = await setup(chaos, chaosPrisma, { upstream: { baseDelayMs: 100 } });
    faults.error(503, { times: 1 }).error(500, { times: 1 });
    const res = await http.post(`/api/tickets/${ticketId}/notify`).send({});
    expect(res.status).toBe(202);
    expect(res.body.attempts).toBe(3);
    const at = faults.requests.map((r) => r.at);
    const gaps = [(at[1] ?? 0) - (at[0] ?? 0), (at[2] ?? 0) - (at[1] ?? 0)];
    // Equal jitter: retry n waits between half and all of 100·2^(n-1) ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(49);
    expect(gaps[0]).toBeLessThan(100 + 300);
    expect(gaps[1]).toBeGreaterThanOrEqual(99);
    expect(gaps[1]).toBeLessThan(200 + 300);
    expect(provider.delivered).toHaveLength(1);
  });

  test('provider down: 503 upstream_unavailable with Retry-After, then fail-fast; after the cool-down it recovers', async ({
    chaos,
    chaosPrisma,
  }) => {
    const { http, provider, faults, ticketId, counter } = await setup(chaos, chaosPrisma, {
      upstream: { attempts: 2, breakerThreshold: 2, breakerCooldownMs: 800 },
    });
    await faults.down({ mode: 'reset' });
    for (let i = 0; i < 2; i++) {
      const res = await http.post(`/api/tickets/${ticketId}/notify`).send({});
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'upstream_unavailable' });
      expect(res.body.error.message).toMatch(/^The notification provider is unavailable \(/);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
    }
    expect(faults.requests).toHaveLength(4); // 2 requests × 2 attempts, all reset
    const t = performance.now();
    const fast = await http.post(`/api/tickets/${ticketId}/notify`).send({});
    expect(performance.now() - t).toBeLessThan(1_000);
    expect(fast.status).toBe(503);
    expect(fast.body.error.message).toMatch(/failing fast/);
    expect(faults.requests).toHaveLength(4); // the open circuit did not call the provider
    expect(await counter('circuit_breaker_open', { dependency: 'upstream' })).toBe(1);

    await faults.up();
    await new Promise((r) => setTimeout(r, 850));
    const back = await http.post(`/api/tickets/${ticketId}/notify`).send({});
    expect(back.status).toBe(202);
    expect(provider.delivered).toHaveLength(1);
    expect(await counter('circuit_breaker_open', { dependency: 'upstream' })).toBe(0);
  });

  test('a provider slower than the timeout: each attempt times out, then 503 in bounded time', async ({
    chaos,
    chaosPrisma,
  }) => {
    const { http, faults, ticketId, provider } = await setup(chaos, chaosPrisma, {
      upstream: { timeoutMs: 400, attempts: 2, baseDelayMs: 50 },
    });
    // A slow provider: it gets (and delivers) each attempt, but answers after the app gave up.
    faults.latency(3_000, { on: 'response' });
    const t = performance.now();
    const res = await http.post(`/api/tickets/${ticketId}/notify`).send({});
    const ms = performance.now() - t;
    expect(res.status).toBe(503);
    expect(res.body.error.message).toContain('no answer within 400 ms');
    expect(ms).toBeGreaterThanOrEqual(2 * 400);
    expect(ms).toBeLessThan(2_500); // without the timeout: ≥ 2 × 3000 ms
    expect(faults.requests).toHaveLength(2);
    expect(provider.attempts).toBe(2);
    // Both attempts carried one Idempotency-Key, so the provider delivered the mail once.
    expect(provider.delivered).toHaveLength(1);
  });

  test('a Retry-After longer than the cap is passed on to the client, not waited out', async ({
    chaos,
    chaosPrisma,
  }) => {
    const { http, faults, ticketId } = await setup(chaos, chaosPrisma, { upstream: { maxRetryAfterMs: 2_000 } });
    faults.rateLimit(30);
    const t = performance.now();
    const res = await http.post(`/api/tickets/${ticketId}/notify`).send({});
    expect(performance.now() - t).toBeLessThan(2_000);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(faults.requests).toHaveLength(1);
  });

  test('with an Idempotency-Key, a client retry replays the answer and sends nothing twice', async ({
    chaos,
    chaosPrisma,
  }) => {
    const { http, provider, ticketId } = await setup(chaos, chaosPrisma);
    const send = () =>
      http.post(`/api/tickets/${ticketId}/notify`).set('Idempotency-Key', 'n-1').send({ text: 'once' });
    const first = await send();
    const second = await send();
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(provider.attempts).toBe(1);
    expect(provider.delivered.map((d) => d.idempotencyKey)).toEqual(['notify:n-1']);
  });

  test('a provider rejection (4xx) is not retried: 502 upstream_error', async ({ chaos, chaosPrisma }) => {
    const { http, faults, ticketId } = await setup(chaos, chaosPrisma);
    faults.error(422, { body: { error: 'mailbox does not exist' } });
    const res = await http.post(`/api/tickets/${ticketId}/notify`).send({});
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: 'upstream_error' });
    expect(res.body.error.message).toContain('mailbox does not exist');
    expect(faults.requests).toHaveLength(1);
  });
});
