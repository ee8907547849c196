import { endpointOf, Http1Connection, type RequestBytes, requestBytes, sweepTimeouts } from './http1.ts';
import type { Recorder } from './recorder.ts';
import { parseServerTimingUs } from './recorder.ts';
import { arrivalTimesUs } from './schedule.ts';
import { type GeneratorJob, type GeneratorStats, partOf } from './wire.ts';

/**
 * The open-loop engine: constant and ramping arrival rates.
 *
 * Why not autocannon here: its rate mode is closed loop. A connection sends its next request
 * only when the previous response has arrived, and `connectionRate`/`overallRate` only cap how
 * many requests a connection may start per wall-clock second (a counter reset by a 1 s
 * `setInterval`). So each second's quota leaves in a burst at the start of the second, and
 * while the server stalls no requests are sent at all: the stall delays requests that are then
 * never counted as late (coordinated omission).
 *
 * So this engine schedules request k at its own instant (see schedule.ts), sends it on an idle
 * keep-alive connection (the generator's HTTP/1.1 client, http1.ts) whatever the state of
 * earlier requests, and measures latency from the scheduled instant. Timers have 1 ms
 * resolution: a request goes out at most about a millisecond late, never early, and that
 * lateness is recorded (`lagUs`) and judged. At most `maxConnections` requests are in flight
 * (k6's maxVUs): a request due while all are busy is dropped and counted, like k6's
 * `dropped_iterations`. Connections are opened as needed and the most recently used idle one
 * is reused, so a low rate keeps few sockets.
 * A job split over several generator threads (wire.ts `part`) gives thread i the arrivals
 * k ≡ i (mod threads), each at its own scheduled instant and with sequence number k + 1.
 */
export function runOpen(job: GeneratorJob, rec: Recorder, nowUs: () => number): Promise<Partial<GeneratorStats>> {
  const { index, of } = partOf(job);
  const all = arrivalTimesUs(job.rateStages ?? []);
  const origin = new URL(job.origin);
  const endpoint = endpointOf(origin);
  const requests = job.requests;
  // Prepared bytes are cached for pools a run reuses; a pool of one request per arrival is prepared as it goes.
  const cache: (RequestBytes | undefined)[] = requests.length <= 4096 ? new Array(requests.length) : [];
  const bytesOf = (k: number): RequestBytes => {
    const cached = cache[k];
    if (cached) return cached;
    const made = requestBytes(origin, requests[k] as (typeof requests)[number], job.traceSalt);
    if (cache.length) cache[k] = made;
    return made;
  };
  const maxConnections = Math.max(1, Math.ceil(job.maxConnections / of));
  const conns: Http1Connection[] = [];
  const idle: Http1Connection[] = [];
  let next = index;
  let planned = 0;
  for (let k = index; k < all.length; k += of) planned++;
  let dispatched = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let dropped = 0;
  let lastEndUs = 0;
  let timer: NodeJS.Timeout | undefined;

  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(sweep);
      const abandoned = inFlight;
      for (const c of conns) c.close();
      resolve({ planned, dispatched, dropped, abandoned, maxInFlight, wallUs: lastEndUs });
    };
    const maybeDone = () => {
      if (next >= all.length && inFlight === 0) finish();
    };

    const send = (c: Http1Connection, k: number, scheduledUs: number) => {
      const s = k + 1;
      const t = bytesOf(k % requests.length);
      const dispatchUs = nowUs();
      dispatched++;
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      c.send(t, s, dispatchUs, (error, status, timing) => {
        if (finished) return;
        const end = nowUs();
        if (end > lastEndUs) lastEndUs = end;
        const serverUs = timing === undefined ? Number.NaN : parseServerTimingUs(timing, job.serverTiming);
        rec.add(s, scheduledUs, end - scheduledUs, status, serverUs, error, dispatchUs - scheduledUs);
        inFlight--;
        idle.push(c);
        maybeDone();
      });
    };

    const tick = () => {
      const now = nowUs();
      while (next < all.length && (all[next] as number) <= now) {
        const k = next;
        next += of;
        let c = idle.pop();
        if (!c && conns.length < maxConnections) {
          c = new Http1Connection(endpoint);
          conns.push(c);
        }
        if (c) send(c, k, all[k] as number);
        else dropped++;
      }
      if (next < all.length) {
        timer = setTimeout(tick, Math.max(0, ((all[next] as number) - nowUs()) / 1000));
      } else {
        maybeDone();
        // Grace period: in-flight requests get their timeout, then are counted as abandoned.
        if (!finished) timer = setTimeout(finish, job.timeoutMs + 1_000);
      }
    };
    const sweep = sweepTimeouts(conns, job.timeoutMs, nowUs);
    if (next >= all.length) finish();
    else tick();
  });
}
