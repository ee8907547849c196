import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { summarize } from '../../plugins/core/stats.ts';
import { parsePrometheusText, type Sample, serverWindow, splitClientServer } from '../../plugins/metrics/prometheus.ts';
import { chaosApp } from './chaos-app.ts';
import './register.ts';

const series = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('Prometheus /metrics of the example app', () => {
  test('request and query histograms, labelled by route pattern, method and status', async ({ prisma }) => {
    const { http } = chaosApp(prisma);
    const user = await http.post('/api/users').send({ email: 'm@example.test', name: 'M' }).expect(201);
    const ticket = await http.post('/api/tickets').send({ authorId: user.body.id, title: 'T', body: 'B' }).expect(201);
    for (let i = 0; i < 3; i++) await http.get(`/api/tickets/${ticket.body.id}`).expect(200);
    await http.get('/api/tickets/999999').expect(404);
    await http.get('/no/such/thing').expect(404);

    const res = await http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusText(res.text);
    const httpFamily = families.get('http_request_duration_seconds');
    expect(httpFamily?.type).toBe('histogram');
    const samples = httpFamily?.samples ?? [];
    const count = (labels: Record<string, string>) =>
      series(samples, 'http_request_duration_seconds_count', labels).reduce((a, s) => a + s.value, 0);
    expect(count({ method: 'GET', route: '/api/tickets/:id', status: '200' })).toBe(3);
    expect(count({ method: 'GET', route: '/api/tickets/:id', status: '404' })).toBe(1);
    expect(count({ method: 'POST', route: '/api/tickets', status: '201' })).toBe(1);
    expect(count({ method: 'GET', route: '(unmatched)', status: '404' })).toBe(1);
    // Route patterns only: no raw ids, no unknown paths, no scrape of /metrics itself.
    const routes = new Set(samples.map((s) => s.labels.route));
    expect([...routes].filter((r) => /\d|no\/such|metrics/.test(r ?? ''))).toEqual([]);
    const bucket = series(samples, 'http_request_duration_seconds_bucket', {
      route: '/api/tickets/:id',
      status: '200',
      le: '+Inf',
    });
    expect(bucket.map((s) => s.value)).toEqual([3]);

    const db = families.get('db_query_duration_seconds');
    expect(db?.type).toBe('histogram');
    const findUnique = series(db?.samples ?? [], 'db_query_duration_seconds_count', {
      model: 'Ticket',
      operation: 'findUnique',
      outcome: 'ok',
    });
    expect(findUnique.map((s) => s.value)).toEqual([4]);
    const created = series(db?.samples ?? [], 'db_query_duration_seconds_sum', { model: 'User', operation: 'create' });
    expect(created[0]?.value).toBeGreaterThan(0);
  });

  test('each app has its own registry: two instances in one process do not collide', async ({ prisma }) => {
    const a = chaosApp(prisma);
    const b = chaosApp(prisma);
    for (let i = 0; i < 4; i++) await a.http.get('/api/tickets').expect(200);
    await b.http.get('/health').expect(200);
    expect(await a.counter('http_request_duration_seconds_count', { route: '/api/tickets' })).toBe(4);
    expect(await b.counter('http_request_duration_seconds_count', { route: '/api/tickets' })).toBe(0);
    expect(await b.counter('http_request_duration_seconds_count', { route: '/health' })).toBe(1);
    expect(globalRegistry.getSingleMetric('http_request_duration_seconds')).toBeUndefined();
  });

  test('the budget side reads the server histogram: p95 over a window, next to the client-side p95', async ({
    prisma,
  }) => {
    const { app } = chaosApp(prisma);
    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const user = await (
      await fetch(`${base}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'w@example.test', name: 'W' }),
      })
    ).json();
    for (let i = 0; i < 10; i++) {
      await fetch(`${base}/api/tickets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authorId: user.id, title: `t${i}`, body: 'x' }),
      });
    }

    const window = await serverWindow(`${base}/metrics`);
    const clientUs: number[] = [];
    for (let i = 0; i < 120; i++) {
      const t = performance.now();
      const res = await fetch(`${base}/api/tickets?limit=20`);
      await res.arrayBuffer();
      clientUs.push((performance.now() - t) * 1000);
      expect(res.status).toBe(200);
    }
    const { latency } = await window.end();
    const s = latency({ match: { route: '/api/tickets', method: 'GET' } });
    const client = summarize(clientUs);
    expect(s.n).toBe(120);
    expect(s.series).toBe(1);
    expect(s.p95Ms).toBeGreaterThan(0);
    // The server's part of each request is inside the client's round trip.
    expect(s.p95BucketMs[0]).toBeLessThanOrEqual(client.p95 / 1000);
    expect(s.meanMs).toBeLessThan(client.mean / 1000);
    const split = splitClientServer(
      { p50Ms: client.p50 / 1000, p95Ms: client.p95 / 1000, p99Ms: client.p99 / 1000 },
      s,
    );
    expect(split.p50.outsideServerMs).toBeGreaterThan(-(s.p95BucketMs[1] - s.p95BucketMs[0]));
    // Requests to other routes in the window (the POSTs before it, the scrapes) are not counted.
    expect(latency({ match: { route: '/api/tickets', method: 'POST' } }).n).toBe(0);
  });
});
