import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A message the provider accepted. */
export interface Delivered {
  id: string;
  to: string;
  subject: string;
  text: string;
  idempotencyKey: string | undefined;
  requestId: string | undefined;
}

/** A running notification provider. */
export interface NotifyProvider extends AsyncDisposable {
  url: string;
  /** Messages delivered, each once per Idempotency-Key. */
  delivered: Delivered[];
  /** POST attempts received, duplicates included. */
  attempts: number;
  close(): Promise<void>;
}

/**
 * A real (small) notification provider for tests, like the mail APIs the example app would call
 * in production: `POST /v1/messages` `{to, subject, text}` → 202 `{id}`, deduplicated by
 * `Idempotency-Key` (a repeated key gets the first id back and delivers nothing new).
 */
export async function startNotifyProvider(): Promise<NotifyProvider> {
  const delivered: Delivered[] = [];
  const byKey = new Map<string, Delivered>();
  const state = { attempts: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    state.attempts += 1;
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      let msg: { to?: unknown; subject?: unknown; text?: unknown };
      try {
        msg = JSON.parse(body) as typeof msg;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid json"}');
        return;
      }
      if (typeof msg.to !== 'string' || typeof msg.subject !== 'string' || typeof msg.text !== 'string') {
        res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"to, subject and text are required"}');
        return;
      }
      const key = req.headers['idempotency-key'] as string | undefined;
      let d = key ? byKey.get(key) : undefined;
      if (!d) {
        d = {
          id: randomUUID(),
          to: msg.to,
          subject: msg.subject,
          text: msg.text,
          idempotencyKey: key,
          requestId: req.headers['x-request-id'] as string | undefined,
        };
        delivered.push(d);
        if (key) byKey.set(key, d);
      }
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: d.id }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    delivered,
    get attempts() {
      return state.attempts;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
