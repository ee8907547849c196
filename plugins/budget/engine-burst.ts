import type { EventEmitter } from 'node:events';
import type autocannonType from 'autocannon';
import { importOptional } from '../core/optional.ts';
import type { Recorder } from './recorder.ts';
import { parseServerTimingUs } from './recorder.ts';
import { type GeneratorJob, type GeneratorStats, REQUEST_ERROR } from './wire.ts';

/**
 * The fixed-concurrency engine (bursts of N users): autocannon's HTTP client machinery, one
 * keep-alive connection per user, no pipelining. autocannon's own statistics are not used
 * (they are whole milliseconds, without p95); every request is recorded here through its
 * client events, at microsecond precision:
 * - `request` fires just before a request is written: its scheduled instant, and where we put
 *   the request's bytes (pool entry + its own `traceparent`) into the client's request slot;
 * - `headers` carries the status and `Server-Timing`; `response` marks completion;
 * - `connError`, and a new `request` while one is still open (autocannon reconnects after a
 *   timeout or a closed socket), mark the open request as failed.
 * In a closed loop the next request is sent when the last one completes, so the scheduled
 * instant is the send instant. At the end each client is capped at the requests it has made
 * (`responseMax`), so requests in flight finish instead of being cut off.
 *
 * This is the generator's hot path (the ceiling benchmark runs it at ~80k requests/s): each
 * client reuses one buffer per pool entry and only rewrites the 16 hex digits of the sequence
 * number in its `traceparent`. That is safe because a client writes its next request only after
 * the previous one was answered, so the socket is done with the buffer.
 */

interface AcClient extends EventEmitter {
  reqsMade: number;
  responseMax: number | undefined;
  requestIterator?: { requests?: { requestBuffer?: Buffer }[] };
}

interface Template {
  bytes: Buffer;
  /** Offsets of the two 16-hex-digit copies of the sequence number. */
  traceAt: number;
  spanAt: number;
}

/** Request bytes for each pool entry, with a `traceparent` whose sequence digits are rewritten per request. */
function templates(job: GeneratorJob): Template[] {
  const host = new URL(job.origin).host;
  const zeros = '0'.repeat(16);
  return job.requests.map((r) => {
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${host}`, 'Connection: keep-alive'];
    for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`);
    if (body) lines.push(`Content-Length: ${body.length}`);
    const head = `${lines.join('\r\n')}\r\ntraceparent: 00-${job.traceSalt}`;
    const traceAt = Buffer.byteLength(head);
    const spanAt = traceAt + 16 + 1;
    const text = `${head}${zeros}-${zeros}-01\r\n\r\n`;
    return { bytes: body ? Buffer.concat([Buffer.from(text), body]) : Buffer.from(text), traceAt, spanAt };
  });
}

// autocannon is an optional peer dependency: only SLOs with `load: { kind: 'burst' }` run this engine.
const loadAutocannon = () =>
  importOptional(
    ['autocannon'],
    'The fixed-concurrency budget engine (burst)',
    async () => (await import('autocannon')).default,
  );

export async function runBurst(
  job: GeneratorJob,
  rec: Recorder,
  nowUs: () => number,
): Promise<Partial<GeneratorStats>> {
  const autocannon: typeof autocannonType = await loadAutocannon();
  const pool = templates(job);
  // Per-client copies are cached for small pools; large pools copy per request.
  const cacheable = pool.length <= 64;
  const vus = job.vus ?? 1;
  const timeoutUs = job.timeoutMs * 1000;
  let seq = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastEndUs = 0;
  let ending = false;
  let done = 0;
  const clients: AcClient[] = [];

  return new Promise((resolve, reject) => {
    let finished = false;
    let endTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let instance: { stop?: () => void } | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(endTimer);
      clearTimeout(graceTimer);
      instance?.stop?.();
      resolve({ dispatched: seq, dropped: 0, abandoned: inFlight, maxInFlight, wallUs: lastEndUs });
    };

    const setupClient = (client: unknown) => {
      const c = client as AcClient;
      const slot = c.requestIterator?.requests?.[0];
      if (!slot) {
        reject(new Error('autocannon client internals changed: requestIterator.requests[0] is missing'));
        return;
      }
      clients.push(c);
      const own = cacheable ? pool.map((t) => Buffer.from(t.bytes)) : [];
      // The request this client has in flight: its sequence number (0 = none), schedule, response.
      let openSeq = 0;
      let openAt = 0;
      let status = 0;
      let serverUs = Number.NaN;
      const close = (error: number) => {
        const end = nowUs();
        if (end > lastEndUs) lastEndUs = end;
        rec.add(openSeq, openAt, end - openAt, status, serverUs, error, 0);
        openSeq = 0;
        inFlight--;
      };
      const failOpen = () => {
        if (openSeq) close(nowUs() - openAt >= timeoutUs - 1_000 ? REQUEST_ERROR.timeout : REQUEST_ERROR.lost);
      };
      c.on('request', () => {
        failOpen();
        const s = ++seq;
        const k = (s - 1) % pool.length;
        const t = pool[k] as Template;
        const buf = cacheable ? (own[k] as Buffer) : Buffer.from(t.bytes);
        const hex = s.toString(16).padStart(16, '0');
        buf.write(hex, t.traceAt, 16, 'latin1');
        buf.write(hex, t.spanAt, 16, 'latin1');
        slot.requestBuffer = buf;
        openSeq = s;
        openAt = nowUs();
        status = 0;
        serverUs = Number.NaN;
        inFlight++;
        if (inFlight > maxInFlight) maxInFlight = inFlight;
      });
      c.on('headers', (h: { statusCode?: number; headers?: string[] }) => {
        if (!openSeq) return;
        status = h.statusCode ?? 0;
        const raw = h.headers ?? [];
        for (let i = 0; i < raw.length; i += 2) {
          const name = String(raw[i]);
          if (name.length === 13 && name.toLowerCase() === 'server-timing') {
            serverUs = parseServerTimingUs(String(raw[i + 1]), job.serverTiming);
          }
        }
      });
      c.on('response', () => {
        if (openSeq) close(REQUEST_ERROR.none);
      });
      c.on('connError', () => {
        if (openSeq) close(REQUEST_ERROR.connection);
      });
      c.on('done', () => {
        // A client capped at the end that timed out reconnects and stops without a new request.
        failOpen();
        done++;
        if (ending && done >= clients.length) finish();
      });
    };

    instance = autocannon(
      {
        url: job.origin,
        connections: vus,
        pipelining: 1,
        // A backstop only: the run is ended below, after the planned duration.
        duration: Math.ceil(job.durationUs / 1e6 + job.timeoutMs / 1000 + 5),
        timeout: Math.max(1, Math.ceil(job.timeoutMs / 1000)),
        requests: [{ method: 'GET', path: '/' }],
        skipAggregateResult: true,
        setupClient: setupClient as never,
      },
      (err: unknown) => {
        if (err) reject(err);
        else finish();
      },
    ) as unknown as { stop?: () => void };

    endTimer = setTimeout(() => {
      ending = true;
      // Cap each client at what it has sent: its open request completes, then it stops.
      for (const c of clients) c.responseMax = Math.max(1, c.reqsMade);
      if (done >= clients.length) finish();
      graceTimer = setTimeout(finish, job.timeoutMs + 2_000);
    }, job.durationUs / 1000);
  });
}
