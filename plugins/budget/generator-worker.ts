import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { runBurst } from './engine-burst.ts';
import { runOpen } from './engine-open.ts';
import { runVus } from './engine-vus.ts';
import { sampleHost } from './host-load.ts';
import { Recorder, transferables } from './recorder.ts';
import type { GeneratorJob, GeneratorStats, MainMessage, WorkerMessage } from './wire.ts';

/**
 * The load generator's worker thread. It never shares an event loop with the server under
 * test: a stalled server cannot delay the generator's timers or its clock. It runs one job
 * at a time and measures its own event-loop utilisation and thread CPU time, so a saturated
 * generator can be told apart from a slow server. It also samples how starved of CPU the
 * host was over the job (host-load.ts): the run queue, its own CPU wait and timer lateness.
 */

async function runJob(job: GeneratorJob): Promise<{ rec: Recorder; stats: GeneratorStats }> {
  const expected = job.engine === 'open' ? 1024 : 4096;
  const rec = new Recorder(expected);
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.threadCpuUsage();
  const startedAtEpochMs = Date.now();
  const t0 = performance.now();
  const startedAtMonotonicMs = Number(process.hrtime.bigint()) / 1e6;
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
