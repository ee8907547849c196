import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/chaos.ts';
import { ChaosError } from '../../plugins/chaos/guard.ts';
import { startHttpFaults } from '../../plugins/chaos/http-faults.ts';

/** A real upstream that echoes what it received. */
async function echoUpstream(): Promise<{ url: string; hits: number }> {
  const state = { url: '', hits: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    state.hits += 1;
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo' });
      res.end(JSON.stringify({ method: req.method, url: req.url, header: req.headers['x-test'] ?? null, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

async function timedFetch(url: string, init: RequestInit = {}) {
  const t = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  return { ms: performance.now() - t, res, text };
}

/** The network error a fetch fails with: its `cause` code or name. */
async function fetchFailure(url: string, init: RequestInit = {}): Promise<string> {
  const err = await fetch(url, init).then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: { code?: string } },
  );
  expect(err, 'expected the request to fail').toBeInstanceOf(Error);
  return err?.cause?.code ?? err?.name ?? 'unknown';
}

describe('http fault injector', () => {
  test('forwards method, path, query, headers and body to the real upstream, and its answer back', async ({
    chaos,
  }) => {
    const upstream = await echoUpstream();
    const faults = await chaos.http({ target: upstream.url });
    const { res, text } = await timedFetch(`${faults.url}/v1/things?x=1`, {
      method: 'POST',
      headers: { 'x-test': 'yes', 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-upstream')).toBe('echo');
    expect(JSON.parse(text)).toEqual({ method: 'POST', url: '/v1/things?x=1', header: 'yes', body: 'hello' });
    expect(faults.requests).toMatchObject([{ method: 'POST', path: '/v1/things', action: 'forwarded', status: 200 }]);
  });

  test('5xx for the next N matching requests, then through to the upstream', async ({ chaos }) => {
    const upstream = await echoUpstream();
    const faults = await chaos.http({ target: upstream.url });
    faults.error(503, { times: 2, path: '/v1/send', method: 'post' });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${faults.url}/v1/send`, { method: 'POST' })).status);
    expect(statuses).toEqual([503, 503, 200]);
    // Other paths and methods were never affected.
    expect((await fetch(`${faults.url}/v1/send`)).status).toBe(200);
    expect((await fetch(`${faults.url}/v1/other`, { method: 'POST' })).status).toBe(200);
    expect(upstream.hits).toBe(3);
    expect(faults.requests.map((r) => r.action)).toEqual(['error', 'error', 'forwarded', 'forwarded', 'forwarded']);
  });

  test('429 with Retry-After in seconds and as an HTTP date', async ({ chaos }) => {
    const faults = await chaos.http({ target: (await echoUpstream()).url });
    faults.rateLimit(2, { times: 1 });
    const first = await fetch(`${faults.url}/a`);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('2');
    const at = new Date(Date.now() + 30_000);
    faults.rateLimit(at, { times: 1 });
    const second = await fetch(`${faults.url}/a`);
    expect(second.status).toBe(429);
    expect(Date.parse(second.headers.get('retry-after') ?? '')).toBe(Math.floor(at.getTime() / 1000) * 1000);
    expect((await fetch(`${faults.url}/a`)).status).toBe(200);
  });

  test('latency on matching paths only, with jitter', async ({ chaos }) => {
    const faults = await chaos.http({ target: (await echoUpstream()).url });
    faults.latency(150, { path: /^\/slow/ });
    const slow = await timedFetch(`${faults.url}/slow/1`);
    const fast = await timedFetch(`${faults.url}/fast`);
    expect([slow.res.status, fast.res.status]).toEqual([200, 200]);
    expect(slow.ms).toBeGreaterThanOrEqual(149);
    expect(faults.requests.map((r) => [r.path, r.delayMs])).toEqual([
      ['/slow/1', 150],
      ['/fast', 0],
    ]);
    await faults.clear();
    faults.latency(80, { jitterMs: 60 });
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) delays.push((await timedFetch(`${faults.url}/j`)).ms);
    const recorded = faults.requests.slice(-12).map((r) => r.delayMs);
    expect(Math.min(...recorded)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...recorded)).toBeLessThanOrEqual(140);
    expect(Math.max(...recorded) - Math.min(...recorded)).toBeGreaterThan(10);
    for (const [i, d] of delays.entries()) expect(d).toBeGreaterThanOrEqual((recorded[i] ?? 0) - 1);
  });

  test('down: refused, reset or hanging, then up again (by itself after ms)', async ({ chaos }) => {
    const upstream = await echoUpstream();
    const faults = await chaos.http({ target: upstream.url });
    expect((await fetch(`${faults.url}/x`)).status).toBe(200);

    await faults.down();
    expect(await fetchFailure(`${faults.url}/x`)).toBe('ECONNREFUSED');
    await faults.up();
    expect((await fetch(`${faults.url}/x`)).status).toBe(200);

    await faults.down({ mode: 'reset' });
    expect(await fetchFailure(`${faults.url}/x`)).toMatch(/ECONNRESET|UND_ERR_SOCKET/);

    await faults.down({ mode: 'hang' });
    const t = performance.now();
    expect(await fetchFailure(`${faults.url}/x`, { signal: AbortSignal.timeout(300) })).toBe('TimeoutError');
    expect(performance.now() - t).toBeGreaterThanOrEqual(295);

    await faults.down({ ms: 300 });
    const downAt = performance.now();
    let back = 0;
    for (let i = 0; i < 40 && !back; i++) {
      await new Promise((r) => setTimeout(r, 50));
      back = await fetch(`${faults.url}/x`).then(
        (r) => (r.ok ? performance.now() - downAt : 0),
        () => 0,
      );
    }
    expect(back).toBeGreaterThanOrEqual(290);
    expect(back).toBeLessThan(2_000);
    expect(faults.requests.filter((r) => r.action === 'reset' || r.action === 'hang').length).toBe(2);
  });

  test('answers with a handler when there is no upstream', async ({ chaos }) => {
    const faults = await chaos.http({
      handler: (_req, res) => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      },
    });
    faults.error(502, { times: 1, body: { reason: 'bad gateway' } });
    const first = await fetch(faults.url);
    expect([first.status, await first.json()]).toEqual([502, { reason: 'bad gateway' }]);
    const second = await fetch(faults.url);
    expect([second.status, await second.json()]).toEqual([201, { ok: true }]);
    expect(faults.requests.map((r) => r.action)).toEqual(['error', 'handled']);
  });

  test('bad options and fault settings are reported with every problem', async ({ chaos }) => {
    await expect(startHttpFaults({ target: 'ftp://x', handler: () => {} })).rejects.toThrow(
      /target must be an http:\/\/ URL \(got "ftp:\/\/x"\)[\s\S]*give exactly one of target/,
    );
    const faults = await chaos.http({ handler: (_q, s) => s.end() });
    const err = (() => {
      try {
        faults.error(700, { times: 0 });
      } catch (e) {
        return e as ChaosError;
      }
    })();
    expect(err).toBeInstanceOf(ChaosError);
    expect(err?.message).toMatch(/status must be ≤ 599 \(got 700\)[\s\S]*times must be an integer ≥ 1 \(got 0\)/);
  });
});
