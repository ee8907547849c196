import { endpointOf, Http1Connection, requestBytes, sweepTimeouts } from './http1.ts';
import type { Recorder } from './recorder.ts';
import { parseServerTimingUs } from './recorder.ts';
import { type GeneratorJob, type GeneratorStats, partOf } from './wire.ts';

/**
 * The fixed-concurrency engine (bursts of N users): one keep-alive connection per user, no
 * pipelining, on the generator's own HTTP/1.1 client (http1.ts). Each user sends its next
 * request when the last one completes, so the scheduled instant is the send instant, and every
 * request is recorded at microsecond precision with its status and `Server-Timing`.
 * When the load ends each user finishes the request it has in flight and stops; requests still
 * open after the timeout and a grace period are counted as abandoned.
 * A job split over several generator threads (wire.ts `part`) gives each thread a share of the
 * users and every thread's requests their own sequence numbers.
 */
export function runBurst(job: GeneratorJob, rec: Recorder, nowUs: () => number): Promise<Partial<GeneratorStats>> {
  const origin = new URL(job.origin);
  const endpoint = endpointOf(origin);
  const pool = job.requests.map((r) => requestBytes(origin, r, job.traceSalt));
  const { index, of } = partOf(job);
  const vus = Math.max(1, job.vus ?? 1);
  const users = Math.floor(vus / of) + (index < vus % of ? 1 : 0);
  const conns = Array.from({ length: users }, () => new Http1Connection(endpoint));
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastEndUs = 0;
  let ending = false;

  return new Promise((resolve) => {
    let finished = false;
    let endTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(endTimer);
      clearTimeout(graceTimer);
      clearInterval(sweep);
      const abandoned = inFlight;
      for (const c of conns) c.close();
      resolve({ dispatched: sent, dropped: 0, abandoned, maxInFlight, wallUs: lastEndUs });
    };

    const next = (c: Http1Connection) => {
      if (ending || finished) {
        if (inFlight === 0) finish();
        return;
      }
      const s = sent++ * of + index + 1;
      const t = pool[(s - 1) % pool.length] as (typeof pool)[number];
      const at = nowUs();
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      c.send(t, s, at, (error, status, timing) => {
        if (finished) return;
        const end = nowUs();
        if (end > lastEndUs) lastEndUs = end;
        const serverUs = timing === undefined ? Number.NaN : parseServerTimingUs(timing, job.serverTiming);
        rec.add(s, at, end - at, status, serverUs, error, 0);
        inFlight--;
        next(c);
      });
    };

    const sweep = sweepTimeouts(conns, job.timeoutMs, nowUs);
    endTimer = setTimeout(() => {
      ending = true;
      if (inFlight === 0) finish();
      graceTimer = setTimeout(finish, job.timeoutMs + 2_000);
    }, job.durationUs / 1000);
    for (const c of conns) next(c);
    if (conns.length === 0) finish();
  });
}
