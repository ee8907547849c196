import { Pool } from 'undici';
import { dispatchOnce } from './dispatch.ts';
import type { Recorder } from './recorder.ts';
import { arrivalTimesUs } from './schedule.ts';
import { type GeneratorJob, type GeneratorStats, traceIdOf } from './wire.ts';

/**
 * The open-loop engine: constant and ramping arrival rates.
 *
 * Why not autocannon here: its rate mode is closed loop. A connection sends its next request
 * only when the previous response has arrived (`_doRequest` runs from the parser's
 * message-complete callback), and `connectionRate`/`overallRate` only cap how many requests a
 * connection may start per wall-clock second (a counter reset by a 1 s `setInterval`). So each
 * second's quota leaves in a burst at the start of the second, and while the server stalls no
 * requests are sent at all: the stall delays requests that are then never counted as late
 * (coordinated omission). Its `recordValueWithExpectedInterval` correction uses
 * `Math.ceil(1 / rate)`, i.e. 1 ms, which does not model the schedule either.
 *
 * So this engine schedules request k at its own instant (see schedule.ts), dispatches it on a
 * keep-alive undici Pool whatever the state of earlier requests, and measures latency from the
 * scheduled instant. Timers have 1 ms resolution: a request goes out at most about a
 * millisecond late, never early, and that lateness is recorded (`lagUs`) and judged.
 * At most `maxConnections` requests are in flight (k6's maxVUs): a request due while all are
 * busy is dropped and counted, like k6's `dropped_iterations`.
 */
export function runOpen(job: GeneratorJob, rec: Recorder, nowUs: () => number): Promise<Partial<GeneratorStats>> {
  const times = arrivalTimesUs(job.rateStages ?? []);
  const pool = new Pool(job.origin, {
    connections: job.maxConnections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: job.timeoutMs,
    bodyTimeout: job.timeoutMs,
    connectTimeout: job.timeoutMs,
  });
  const requests = job.requests;
  let next = 0;
  let seq = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let dropped = 0;
  let lastEndUs = 0;
  let timer: NodeJS.Timeout | undefined;

  return new Promise((resolve) => {
    let finished = false;
    const finish = (abandoned: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      void pool.destroy().catch(() => undefined);
      resolve({ planned: times.length, dispatched: seq, dropped, abandoned, maxInFlight, wallUs: lastEndUs });
    };
    const maybeDone = () => {
      if (next >= times.length && inFlight === 0) finish(0);
    };

    const send = (scheduledUs: number, dispatchUs: number) => {
      const s = ++seq;
      const req = requests[(s - 1) % requests.length] as (typeof requests)[number];
      const trace = traceIdOf(job.traceSalt, s);
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      dispatchOnce(pool, req, trace, job.serverTiming, (error, status, serverUs) => {
        const end = nowUs();
        if (end > lastEndUs) lastEndUs = end;
        rec.add(s, scheduledUs, end - scheduledUs, status, serverUs, error, dispatchUs - scheduledUs);
        inFlight--;
        maybeDone();
      });
    };

    const tick = () => {
      const now = nowUs();
      while (next < times.length && (times[next] as number) <= now) {
        const scheduledUs = times[next] as number;
        next++;
        if (inFlight >= job.maxConnections) dropped++;
        else send(scheduledUs, nowUs());
      }
      if (next < times.length) {
        timer = setTimeout(tick, Math.max(0, ((times[next] as number) - nowUs()) / 1000));
      } else {
        maybeDone();
        if (!finished) {
          // Grace period: in-flight requests get their timeout, then are counted as abandoned.
          timer = setTimeout(() => finish(inFlight), job.timeoutMs + 1_000);
        }
      }
    };
    if (times.length === 0) finish(0);
    else tick();
  });
}
