import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Prisma, PrismaClient } from './generated/prisma/client.ts';
import { errorHandler, HttpError } from './http-error.ts';
import { REPLAY_ROUTE } from './metrics.ts';
import { backoffMs, sleep, UnavailableError } from './resilience.ts';
import { type Log, traceIdOf } from './trace.ts';
import { ValidationError } from './validate.ts';

/** The request header that makes a POST idempotent. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Set on a response replayed from a stored key. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

const KEY = /^[\x21-\x7e]{1,255}$/;
// Namespace of the two-key advisory lock (`pg_advisory_xact_lock(int, int)`); two-key locks never
// collide with single-bigint ones such as Prisma migrate's.
const LOCK_NAMESPACE = 0x69646d70; // 'idmp'
const STORED_HEADERS = ['content-type', 'location'] as const;

type Tx = Prisma.TransactionClient;
interface Scope {
  tx: Tx;
  /** Cleared once the response is ready: work the handler left running continues outside the transaction. */
  open: boolean;
}
const scope = new AsyncLocalStorage<Scope>();

interface Captured {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Settings of {@link createIdempotency}. */
export interface IdempotencyOptions {
  /** How long the handler may run inside its transaction. */
  timeoutMs: number;
  log: Log;
}

class Rollback extends Error {}

/**
 * The client route handlers get: inside an idempotent request, every call (model methods, raw
 * queries, `$transaction`, which becomes part of the request's transaction) runs in that
 * request's transaction; elsewhere it is `client` itself.
 */
export function transactional(client: PrismaClient): PrismaClient {
  return new Proxy(client, {
    get(target, prop) {
      const s = scope.getStore();
      if (s?.open) {
        if (prop === '$transaction') {
          return async (arg: unknown) => {
            if (typeof arg === 'function') return (arg as (tx: Tx) => unknown)(s.tx);
            const results: unknown[] = [];
            for (const p of arg as Promise<unknown>[]) results.push(await p);
            return results;
          };
        }
        const v = Reflect.get(s.tx, prop) as unknown;
        if (v !== undefined) return typeof v === 'function' ? v.bind(s.tx) : v;
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function hashRequest(req: Request): string {
  return createHash('sha256')
    .update(`${req.method} ${req.originalUrl}\n${JSON.stringify(req.body ?? null)}`)
    .digest('hex');
}

/** Intercepts `res.write`/`res.end` so nothing reaches the client until the transaction committed. */
function capture(res: Response, onEnd: (c: Captured) => void): { release(c?: Captured): void; restore(): void } {
  const write = res.write;
  const end = res.end;
  const chunks: Buffer[] = [];
  const toBuffer = (chunk: unknown, encoding: unknown) =>
    typeof chunk === 'string'
      ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
      : Buffer.from(chunk as Uint8Array);
  res.write = ((chunk: unknown, encoding?: unknown) => {
    chunks.push(toBuffer(chunk, encoding));
    return true;
  }) as Response['write'];
  res.end = ((chunk?: unknown, encoding?: unknown) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(toBuffer(chunk, encoding));
    const headers: Record<string, string> = {};
    for (const h of STORED_HEADERS) {
      const v = res.getHeader(h);
      if (v !== undefined) headers[h] = String(v);
    }
    onEnd({ status: res.statusCode, headers, body: Buffer.concat(chunks) });
    return res;
  }) as Response['end'];
  const restore = () => {
    res.write = write;
    res.end = end;
  };
  return {
    restore,
    release(c) {
      restore();
      if (c) res.end(c.body);
    },
  };
}

/** Answers with `err` the way the app's error handlers would (Retry-After included). */
function respondError(err: HttpError, req: Request, res: Response): void {
  for (const h of ['location', 'content-type', 'content-length']) res.removeHeader(h);
  if (err instanceof UnavailableError) res.setHeader('Retry-After', String(err.retryAfterS));
  errorHandler(err, req, res, () => undefined);
}

/**
 * `Idempotency-Key` for POSTs. The first request with a key runs its handler inside one
 * transaction that also stores the key with the response, so the write and the key commit
 * together or not at all; the same key again gets the stored response (`Idempotent-Replayed:
 * true`), and the same key with a different request gets 422. Concurrent duplicates wait on an
 * advisory lock and then replay. When the COMMIT's outcome is unknown (the connection broke),
 * the key is read back: found means committed (the response goes out), absent means rolled back
 * (503, retry with the same key). Only 2xx responses are stored; anything else is rolled back.
 */
export function createIdempotency(prisma: PrismaClient, options: IdempotencyOptions): RequestHandler {
  const log = (req: Request, res: Response, msg: string, fields: Record<string, unknown> = {}) =>
    options.log({
      ts: new Date().toISOString(),
      level: 'info',
      msg,
      traceId: traceIdOf(res),
      path: req.originalUrl,
      ...fields,
    });

  function replay(
    req: Request,
    res: Response,
    stored: { requestHash: string; method: string; path: string; status: number; headers: unknown; body: string },
    key: string,
    requestHash: string,
  ): void {
    if (stored.requestHash !== requestHash) {
      throw new HttpError(
        422,
        'idempotency_key_reused',
        `Idempotency-Key "${key}" was already used for a different request (${stored.method} ${stored.path}); use a new key`,
      );
    }
    log(req, res, 'idempotency.replay', { key });
    res.locals.metricsRoute = REPLAY_ROUTE;
    res.status(stored.status);
    for (const [h, v] of Object.entries((stored.headers ?? {}) as Record<string, string>)) res.setHeader(h, v);
    res.setHeader(REPLAYED_HEADER, 'true');
    res.end(stored.body);
  }

  /** After an ambiguous COMMIT: is the key there? Retries the read a few times (the database may be flapping). */
  async function readBack(key: string) {
    const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };
    for (let attempt = 1; ; attempt++) {
      try {
        return { found: await prisma.idempotencyKey.findUnique({ where: { key } }) };
      } catch (err) {
        if (attempt >= policy.attempts) return { error: err };
        await sleep(backoffMs(attempt, policy));
      }
    }
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.get(IDEMPOTENCY_HEADER);
    if (req.method !== 'POST' || key === undefined) {
      next();
      return;
    }
    if (!KEY.test(key)) {
      next(
        new ValidationError(`Invalid ${IDEMPOTENCY_HEADER} header: ${JSON.stringify(key.slice(0, 40))}`, {
          [IDEMPOTENCY_HEADER]: 'must be 1 to 255 visible ASCII characters',
        }),
      );
      return;
    }
    const requestHash = hashRequest(req);
    let handed = false;
    let captured: Captured | undefined;
    let responded: (c: Captured) => void = () => undefined;
    const response = new Promise<Captured>((resolve) => {
      responded = resolve;
    });
    const store = { open: false } as Scope;
    const cap = capture(res, (c) => {
      store.open = false;
      captured = c;
      responded(c);
    });
    try {
      const stored = await prisma.idempotencyKey.findUnique({ where: { key } });
      if (stored) {
        cap.restore();
        replay(req, res, stored, key, requestHash);
        return;
      }
      const outcome = await prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}::int, hashtext(${key}))`;
          const again = await tx.idempotencyKey.findUnique({ where: { key } });
          if (again) return { replay: again };
          store.tx = tx;
          store.open = true;
          handed = true;
          scope.run(store, () => next());
          let timer: NodeJS.Timeout | undefined;
          const c = await Promise.race([
            response,
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () =>
                  reject(
                    new UnavailableError('database', `The request did not finish within ${options.timeoutMs} ms`, {
                      retryAfterS: 1,
                    }),
                  ),
                options.timeoutMs,
              );
            }),
          ]).finally(() => clearTimeout(timer));
          if (c.status < 200 || c.status >= 300) throw new Rollback();
          await tx.idempotencyKey.create({
            data: {
              key,
              method: req.method,
              path: req.originalUrl.slice(0, 2048),
              requestHash,
              status: c.status,
              headers: c.headers,
              body: c.body.toString('utf8'),
            },
          });
          return { commit: c };
        },
        { timeout: options.timeoutMs + 1_000, maxWait: 2_000 },
      );
      if (outcome.replay) {
        cap.restore();
        replay(req, res, outcome.replay, key, requestHash);
        return;
      }
      cap.release(outcome.commit);
    } catch (err) {
      if (!handed) {
        cap.restore();
        next(err);
        return;
      }
      if (captured && (captured.status < 200 || captured.status >= 300)) {
        cap.release(captured); // the handler's own error answer; its writes were rolled back
        return;
      }
      if (!captured) {
        cap.restore();
        respondError(
          err instanceof HttpError
            ? err
            : new UnavailableError('database', 'The request failed', { retryAfterS: 1, cause: err }),
          req,
          res,
        );
        return;
      }
      // The handler succeeded but the COMMIT failed: committed or not? The key tells.
      const check = await readBack(key);
      log(req, res, 'idempotency.commit_unknown', {
        key,
        resolved: check.found ? 'committed' : check.error ? 'unknown' : 'rolled_back',
      });
      if (check.found) {
        cap.release(captured);
        return;
      }
      cap.restore();
      respondError(
        new UnavailableError(
          'database',
          check.error
            ? 'The database failed while saving; the outcome is unknown. Retry with the same Idempotency-Key'
            : 'The database failed while saving and nothing was saved. Retry with the same Idempotency-Key',
          { retryAfterS: 1, cause: err },
        ),
        req,
        res,
      );
    }
  };
}
