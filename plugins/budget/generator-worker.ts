import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { runBurst } from './engine-burst.ts';
import { runOpen } from './engine-open.ts';
import { runVus } from './engine-vus.ts';
import { sampleHost } from './host-load.ts';
import { Recorder, transferables } from './recorder.ts';
import { absoluteMs, type GeneratorJob, type GeneratorStats, type MainMessage, type WorkerMessage } from './wire.ts';

/**
 * The load generator's worker thread. It never shares an event loop with the server under
 * test: a stalled server cannot delay the generator's timers or its clock. It runs one job
 * at a time and measures its own event-loop utilisation and thread CPU time, so a saturated
 * generator can be told apart from a slow server. It also samples how starved of CPU the
 * host was over the job (host-load.ts): the run queue, its own CPU wait and timer lateness.
 */

async function runJob(job: GeneratorJob): Promise<{ rec: Recorder; stats: GeneratorStats }> {
  // A split job's parts share one time zero; a part that arrives late starts late, and the
  // requests it owes from before are sent at once and recorded as late (lagUs).
  if (job.part) {
    const wait = job.part.startAtMs - absoluteMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const expected = job.engine === 'open' ? 1024 : 4096;
  const rec = new Recorder(expected);
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.threadCpuUsage();
  const t0 = job.part ? Math.min(performance.now(), job.part.startAtMs - performance.timeOrigin) : performance.now();
  const behindMs = performance.now() - t0;
  const startedAtEpochMs = Date.now() - behindMs;
  const startedAtMonotonicMs = Number(process.hrtime.bigint()) / 1e6 - behindMs;
  const nowUs = () => (performance.now() - t0) * 1000;
  const host = sampleHost();
  const engine = job.engine === 'open' ? runOpen : job.engine === 'vus' ? runVus : runBurst;
  const partial = await engine(job, rec, nowUs);
  const hostSample = host.stop(performance.now() - t0);
  const cpu = process.threadCpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const stats: GeneratorStats = {
    engine: job.engine,
    startedAtEpochMs,
    startedAtMonotonicMs,
    plannedUs: job.durationUs,
    wallUs: partial.wallUs ?? nowUs(),
    planned: partial.planned ?? 0,
    dispatched: partial.dispatched ?? 0,
    completed: rec.n,
    dropped: partial.dropped ?? 0,
    abandoned: partial.abandoned ?? 0,
    elu: elu.utilization,
    cpuUs: cpu.user + cpu.system,
    maxInFlight: partial.maxInFlight ?? 0,
    host: hostSample,
  };
  return { rec, stats };
}

const port = parentPort;
if (!port) throw new Error('generator-worker.ts must run in a worker thread');
port.on('message', (msg: MainMessage) => {
  if (msg.type === 'exit') {
    port.close();
    return;
  }
  runJob(msg.job).then(
    ({ rec, stats }) => {
      const record = rec.finish();
      const out: WorkerMessage = { type: 'done', id: msg.id, record, stats };
      port.postMessage(out, transferables(record));
    },
    (err: unknown) => {
      const out: WorkerMessage = {
        type: 'failed',
        id: msg.id,
        message: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      };
      port.postMessage(out);
    },
  );
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage);
