import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { onTeardown } from '../core/cleanup.ts';
import { debug } from '../core/debug.ts';
import { assertChaosAllowed, ChaosError, checkDownFault, checkNumber, reportProblems } from './guard.ts';
import type { HttpFaultScope, HttpFaults, HttpFaultsOptions, SeenRequest } from './http-faults-types.ts';

export type {
  HttpFaultScope,
  HttpFaults,
  HttpFaultsOptions,
  SeenRequest,
} from './http-faults-types.ts';

const log = debug('chaos:http');

type Rule =
  | {
      kind: 'error';
      scope: HttpFaultScope;
      left: number;
      status: number;
      body?: unknown;
      headers?: Record<string, string>;
    }
  | { kind: 'rate-limit'; scope: HttpFaultScope; left: number; retryAfter: number | Date }
  | { kind: 'latency'; scope: HttpFaultScope; left: number; ms: number; jitterMs: number; on: 'request' | 'response' };

function matches(scope: HttpFaultScope, method: string, path: string): boolean {
  if (scope.method && scope.method.toUpperCase() !== method) return false;
  if (scope.path === undefined) return true;
  return typeof scope.path === 'string' ? scope.path === path : scope.path.test(path);
}

function checkScope(problems: string[], scope: HttpFaultScope): void {
  checkNumber(problems, 'times', scope.times, { min: 1, integer: true, optional: true });
  if (scope.path !== undefined && typeof scope.path !== 'string' && !(scope.path instanceof RegExp)) {
    problems.push(`path must be a string or a RegExp (got ${JSON.stringify(scope.path)})`);
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/**
 * Starts an HTTP server on 127.0.0.1 that injects faults in front of a real upstream (`target`)
 * or a `handler`: 5xx answers, 429 with `Retry-After`, latency, and being down (refused, reset,
 * or hanging). Rules apply in the order added; latency adds up with the others. Refused when
 * `NODE_ENV=production`.
 */
export async function startHttpFaults(options: HttpFaultsOptions): Promise<HttpFaults> {
  const name = options.name ?? 'http-faults';
  assertChaosAllowed(name);
  const problems: string[] = [];
  let target: URL | undefined;
  if (options.target !== undefined) {
    try {
      target = new URL(options.target);
      if (target.protocol !== 'http:') problems.push(`target must be an http:// URL (got "${options.target}")`);
    } catch {
      problems.push(`target is not a URL (got "${options.target}")`);
    }
  }
  if (!options.target === !options.handler) problems.push('give exactly one of target (an upstream URL) or handler');
  checkNumber(problems, 'port', options.port, { integer: true, optional: true });
  reportProblems(`HTTP fault injector "${name}" options`, problems);

  const host = options.host ?? '127.0.0.1';
  const rules: Rule[] = [];
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let downMode: 'refuse' | 'reset' | 'hang' | undefined;
  let upTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const take = (kind: Rule['kind'], method: string, path: string): Rule | undefined => {
    const rule = rules.find((r) => r.kind === kind && r.left > 0 && matches(r.scope, method, path));
    if (rule) rule.left -= 1;
    return rule;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, url: URL, answerDelayMs: number) => {
    const upstream = request(
      new URL(req.url ?? '/', url),
      { method: req.method, headers: { ...req.headers, host: url.host } },
      (up) => {
        const answer = () => {
          if (res.destroyed) {
            up.resume();
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        };
        if (answerDelayMs > 0) {
          up.pause();
          setTimeout(answer, answerDelayMs);
        } else answer();
      },
    );
    upstream.on('error', (err) => {
      log('%s: upstream %s failed: %s', name, url.origin, err.message);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'bad_gateway', message: `upstream ${url.origin}: ${err.message}` } }));
    });
    req.pipe(upstream);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const seen: SeenRequest = {
      at: performance.now(),
      method,
      path,
      headers: req.headers,
      action: 'forwarded',
      delayMs: 0,
    };
    requests.push(seen);
    if (downMode === 'reset') {
      seen.action = 'reset';
      req.socket.resetAndDestroy();
      return;
    }
    if (downMode === 'hang') {
      seen.action = 'hang';
      return;
    }
    const lat = take('latency', method, path);
    let answerDelayMs = 0;
    if (lat?.kind === 'latency') {
      seen.delayMs = Math.max(0, lat.ms + (Math.random() * 2 - 1) * lat.jitterMs);
      if (lat.on === 'response' && target) answerDelayMs = seen.delayMs;
      else {
        await new Promise((r) => setTimeout(r, seen.delayMs));
        if (res.destroyed) return;
      }
    }
    const err = take('error', method, path);
    if (err?.kind === 'error') {
      seen.action = 'error';
      seen.status = err.status;
      res.writeHead(err.status, { 'content-type': 'application/json', ...err.headers });
      res.end(
        JSON.stringify(err.body ?? { error: { code: 'injected', message: `injected ${err.status} by ${name}` } }),
      );
      return;
    }
    const limited = take('rate-limit', method, path);
    if (limited?.kind === 'rate-limit') {
      seen.action = 'rate-limit';
      seen.status = 429;
      const retryAfter =
        limited.retryAfter instanceof Date ? limited.retryAfter.toUTCString() : String(limited.retryAfter);
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': retryAfter });
      res.end(JSON.stringify({ error: { code: 'rate_limited', message: `injected 429 by ${name}` } }));
      return;
    }
    res.once('finish', () => {
      seen.status = res.statusCode;
    });
    if (target) forward(req, res, target, answerDelayMs);
    else {
      seen.action = 'handled';
      options.handler?.(req, res);
    }
  };

  const makeServer = () => {
    const s = createServer((req, res) => {
      onRequest(req, res).catch((err: unknown) => {
        log('%s: %s', name, String(err));
        res.destroy();
      });
    });
    s.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return s;
  };
  let server = makeServer();
  const port = await listen(server, host, options.port ?? 0);
  log('%s: listening on %s:%d%s', name, host, port, target ? ` → ${target.origin}` : '');

  const cutAll = () => {
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };

  let unregister = () => {};
  const add = (rule: Rule) => {
    rules.push(rule);
    log('%s: + %s %o', name, rule.kind, rule.scope);
    return faults;
  };
  const faults: HttpFaults = {
    name,
    url: `http://${host}:${port}`,
    port,
    requests,
    error(status = 503, scope = {}) {
      assertChaosAllowed(`${name}.error`);
      const problems: string[] = [];
      checkNumber(problems, 'status', status, { min: 100, integer: true });
      if (status > 599) problems.push(`status must be ≤ 599 (got ${status})`);
      checkScope(problems, scope);
      reportProblems(`error fault on "${name}"`, problems);
      return add({
        kind: 'error',
        scope,
        left: scope.times ?? Number.POSITIVE_INFINITY,
        status,
        body: scope.body,
        headers: scope.headers,
      });
    },
    rateLimit(retryAfter, scope = {}) {
      assertChaosAllowed(`${name}.rateLimit`);
      const problems: string[] = [];
      if (!(retryAfter instanceof Date)) checkNumber(problems, 'retryAfter seconds', retryAfter, { integer: true });
      else if (Number.isNaN(retryAfter.getTime())) problems.push('retryAfter is an invalid Date');
      checkScope(problems, scope);
      reportProblems(`rate-limit fault on "${name}"`, problems);
      return add({ kind: 'rate-limit', scope, left: scope.times ?? Number.POSITIVE_INFINITY, retryAfter });
    },
    latency(ms, scope = {}) {
      assertChaosAllowed(`${name}.latency`);
      const problems: string[] = [];
      checkNumber(problems, 'latency ms', ms);
      checkNumber(problems, 'jitterMs', scope.jitterMs, { optional: true });
      if (scope.on !== undefined && scope.on !== 'request' && scope.on !== 'response') {
        problems.push(`on must be request or response (got ${JSON.stringify(scope.on)})`);
      }
      checkScope(problems, scope);
      reportProblems(`latency fault on "${name}"`, problems);
      return add({
        kind: 'latency',
        scope,
        left: scope.times ?? Number.POSITIVE_INFINITY,
        ms,
        jitterMs: scope.jitterMs ?? 0,
        on: scope.on ?? 'request',
      });
    },
    async down(opts = {}) {
      assertChaosAllowed(`${name}.down`);
      const mode = checkDownFault(name, opts, ['refuse', 'reset', 'hang']);
      clearTimeout(upTimer);
      if (downMode === 'refuse' && mode !== 'refuse') await faults.up();
      const wasRefusing = downMode === 'refuse';
      downMode = mode;
      cutAll();
      // close() releases the port at once; its callback would wait for every connection to end.
      if (mode === 'refuse' && !wasRefusing) server.close();
      if (opts.ms !== undefined) {
        upTimer = setTimeout(() => {
          faults.up().catch((err: unknown) => log('%s: coming back up failed: %s', name, String(err)));
        }, opts.ms);
        upTimer.unref();
      }
      log('%s: down (%s)', name, mode);
    },
    async up() {
      clearTimeout(upTimer);
      if (!downMode || closed) return;
      const mode = downMode;
      downMode = undefined;
      cutAll(); // hanging requests end now: their clients see a reset
      if (mode !== 'refuse') return;
      let lastErr: unknown;
      for (let attempt = 0; attempt < 20; attempt++) {
        server = makeServer();
        try {
          await listen(server, host, port);
          log('%s: up', name);
          return;
        } catch (err) {
          lastErr = err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      throw new ChaosError(
        'SHIPGATE_CHAOS_PORT',
        `HTTP fault injector "${name}" could not listen on ${host}:${port} again.`,
        {
          cause: lastErr,
          hint: 'Another process took the port; use down({ mode: "reset" }), which keeps it open.',
        },
      );
    },
    async clear() {
      rules.length = 0;
      await faults.up();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(upTimer);
      unregister();
      cutAll();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
      log('%s: closed', name);
    },
    [Symbol.asyncDispose]: () => faults.close(),
  };
  unregister = onTeardown(`chaos ${name}`, () => faults.close());
  return faults;
}
