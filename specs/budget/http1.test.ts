import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { endpointOf, Http1Connection, requestBytes } from '../../plugins/budget/http1.ts';
import { REQUEST_ERROR } from '../../plugins/budget/wire.ts';

/**
 * The load generator's HTTP/1.1 client against real servers: every way a response can be
 * framed, a socket the server closes, and a request that never gets an answer. Each request
 * is followed by another on the same connection object, so a framing bug (a body read too
 * short or too long) shows up as the next response going wrong.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function listen(server: http.Server | net.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Outcome {
  error: number;
  status: number;
  timing: string | undefined;
}

function ask(c: Http1Connection, url: string, path: string, method = 'GET', seq = 1): Promise<Outcome> {
  const t = requestBytes(new URL(url), { method, path, headers: {} }, 'a'.repeat(16));
  return new Promise((resolve) => c.send(t, seq, 0, (error, status, timing) => resolve({ error, status, timing })));
}

const ok = (status = 200) => ({ error: REQUEST_ERROR.none, status });

describe('the generator’s HTTP/1.1 client', () => {
  test('Content-Length, chunked (with trailers), 204, HEAD and an interim 103: each ends where it should', async () => {
    const seen: string[] = [];
    const url = await listen(
      http.createServer((req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers.traceparent}`);
        if (req.url === '/length') {
          res.setHeader('server-timing', 'app;dur=12.5');
          res.end('x'.repeat(100_000));
        } else if (req.url === '/chunked') {
          res.writeHead(201, { 'transfer-encoding': 'chunked', trailer: 'x-done' });
          res.write('a'.repeat(5000));
          setTimeout(() => {
            res.write('b'.repeat(17));
            res.addTrailers({ 'x-done': 'yes' });
            res.end();
          }, 5);
        } else if (req.url === '/empty') {
          res.writeHead(204).end();
        } else if (req.url === '/hints') {
          res.writeEarlyHints({ link: '</a.css>; rel=preload' });
          res.end('after hints');
        } else {
          res.setHeader('content-length', '42');
          res.end(req.method === 'HEAD' ? undefined : 'y'.repeat(42));
        }
      }),
    );
    const c = new Http1Connection(endpointOf(new URL(url)));
    const a = await ask(c, url, '/length', 'GET', 0xabc);
    expect(a).toMatchObject(ok());
    expect(a.timing).toBe('app;dur=12.5');
    expect(await ask(c, url, '/chunked')).toMatchObject(ok(201));
    expect(await ask(c, url, '/empty')).toMatchObject(ok(204));
    expect(await ask(c, url, '/head', 'HEAD')).toMatchObject(ok());
    expect(await ask(c, url, '/hints')).toMatchObject(ok());
    expect(await ask(c, url, '/length')).toMatchObject(ok());
    c.close();
    expect(seen).toHaveLength(6);
    // The trace id carries the sequence number in hex, and the span id repeats it.
    expect(seen[0]).toBe(`GET /length 00-${'a'.repeat(16)}${'abc'.padStart(16, '0')}-${'abc'.padStart(16, '0')}-01`);
  });

  test('a response split into single bytes, and a body ended by closing the connection', async () => {
    const raw = net.createServer((s) => {
      s.once('data', (d) => {
        if (String(d).startsWith('GET /close')) {
          s.end('HTTP/1.0 200 OK\r\nServer-Timing: db;dur=3\r\n\r\nbody until the end');
          return;
        }
        const reply = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
        let i = 0;
        const drip = setInterval(() => {
          if (s.destroyed) return clearInterval(drip);
          s.write(reply[i++] as string);
          if (i === reply.length) {
            clearInterval(drip);
            s.once('data', () => s.end('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
          }
        }, 1);
      });
    });
    const url = await listen(raw);
    const c = new Http1Connection(endpointOf(new URL(url)));
    expect(await ask(c, url, '/drip')).toMatchObject(ok());
    expect(await ask(c, url, '/again')).toMatchObject(ok(202));
    const closed = await ask(c, url, '/close');
    expect(closed).toMatchObject(ok());
    expect(closed.timing).toBe('db;dur=3');
    c.close();
  });

  test('Connection: close and a server’s keep-alive timeout: the next request opens a new socket, no error', async () => {
    let sockets = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/bye') res.setHeader('connection', 'close');
      res.end('ok');
    });
    server.on('connection', () => sockets++);
    // Node announces "Keep-Alive: timeout=1" and closes idle sockets after a second.
    server.keepAliveTimeout = 1000;
    const url = await listen(server);
    const c = new Http1Connection(endpointOf(new URL(url)));
    expect(await ask(c, url, '/bye')).toMatchObject(ok());
    expect(await ask(c, url, '/next')).toMatchObject(ok());
    expect(sockets).toBe(2);
    // Idle past the announced timeout less a second: reopened before it is reused.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await ask(c, url, '/later')).toMatchObject(ok());
    expect(sockets).toBe(3);
    c.close();
  });

  test('a socket closed mid-request is a connection error, a refused one too; expire() times a request out', async () => {
    const raw = net.createServer((s) => {
      s.once('data', (d) => {
        if (String(d).startsWith('GET /cut')) s.destroy();
        // '/hang': never answers
      });
    });
    const url = await listen(raw);
    const c = new Http1Connection(endpointOf(new URL(url)));
    expect(await ask(c, url, '/cut')).toMatchObject({ error: REQUEST_ERROR.connection, status: 0 });
    const hanging = ask(c, url, '/hang');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.busy).toBe(true);
    c.expire();
    expect(await hanging).toMatchObject({ error: REQUEST_ERROR.timeout, status: 0 });
    expect(c.busy).toBe(false);
    c.close();

    const gone = net.createServer();
    const goneUrl = await listen(gone);
    await new Promise<void>((r) => gone.close(() => r()));
    const d = new Http1Connection(endpointOf(new URL(goneUrl)));
    expect(await ask(d, goneUrl, '/')).toMatchObject({ error: REQUEST_ERROR.connection, status: 0 });
  });

  test('a malformed status line is an error, not a hang', async () => {
    const raw = net.createServer((s) => s.once('data', () => s.write('SMTP ready\r\n\r\n')));
    const url = await listen(raw);
    const c = new Http1Connection(endpointOf(new URL(url)));
    expect(await ask(c, url, '/')).toMatchObject({ error: REQUEST_ERROR.other, status: 0 });
    c.close();
  });
});
