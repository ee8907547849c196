import { Pool } from 'undici';
import { dispatchOnce } from './dispatch.ts';
import type { Recorder } from './recorder.ts';
import { vuTargetAt } from './schedule.ts';
import { type GeneratorJob, type GeneratorStats, traceIdOf } from './wire.ts';

/**
 * The ramping-VU engine (k6's ramping-vus): a closed loop whose number of virtual users follows
 * the stages. Each VU sends a request, waits for the response (and `thinkTime`), and sends the
 * next; VUs above the current target stop after their request in flight. A VU's request is
 * scheduled at the instant the VU decides to send it, so the latency is the user's wait.
 * autocannon cannot change its connection count during a run, hence this engine on undici.
 */
export function runVus(job: GeneratorJob, rec: Recorder, nowUs: () => number): Promise<Partial<GeneratorStats>> {
  const stages = job.vuStages ?? [];
  const maxVus = Math.max(1, ...stages.flatMap((s) => [s.from, s.to]));
  const pool = new Pool(job.origin, {
    connections: maxVus,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: job.timeoutMs,
    bodyTimeout: job.timeoutMs,
    connectTimeout: job.timeoutMs,
  });
  const running = new Array<boolean>(maxVus).fill(false);
  let target = 0;
  let seq = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastEndUs = 0;
  let activeVus = 0;

  return new Promise((resolve) => {
    let finished = false;
    let controller: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    const finish = (abandoned: number) => {
      if (finished) return;
      finished = true;
      clearInterval(controller);
      clearTimeout(grace);
      void pool.destroy().catch(() => undefined);
      resolve({ dispatched: seq, dropped: 0, abandoned, maxInFlight, wallUs: lastEndUs });
    };
    const loadOver = () => nowUs() >= job.durationUs;

    const iterate = (vu: number) => {
      if (finished) return;
      if (vu >= target || loadOver()) {
        running[vu] = false;
        activeVus--;
        if (activeVus === 0 && loadOver()) finish(0);
        return;
      }
      const s = ++seq;
      const req = job.requests[(s - 1) % job.requests.length] as (typeof job.requests)[number];
      const trace = traceIdOf(job.traceSalt, s);
      const scheduledUs = nowUs();
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      dispatchOnce(pool, req, trace, job.serverTiming, (error, status, serverUs) => {
        const end = nowUs();
        if (end > lastEndUs) lastEndUs = end;
        rec.add(s, scheduledUs, end - scheduledUs, status, serverUs, error, 0);
        inFlight--;
        if (job.thinkTimeUs > 0) setTimeout(() => iterate(vu), job.thinkTimeUs / 1000);
        else setImmediate(() => iterate(vu));
      });
    };

    const control = () => {
      const t = nowUs();
      target = t < job.durationUs ? vuTargetAt(stages, t) : 0;
      for (let vu = 0; vu < target; vu++) {
        if (!running[vu]) {
          running[vu] = true;
          activeVus++;
          iterate(vu);
        }
      }
      if (t >= job.durationUs) {
        clearInterval(controller);
        if (activeVus === 0) finish(0);
        else grace = setTimeout(() => finish(inFlight), job.timeoutMs + 1_000);
      }
    };
    // Re-evaluated every 10 ms: ramps move in steps of at most 10 ms.
    controller = setInterval(control, 10);
    control();
  });
}
