import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * How starved of CPU the host was during a round, measured directly rather than inferred.
 * Three figures, each read from the kernel (Linux; elsewhere they are absent and only the
 * generator's own event-loop figures remain):
 * - run queue: `procs_running` of /proc/stat (every runnable task on the machine, ours too),
 *   sampled every {@link RUN_QUEUE_SAMPLE_MS} ms by the generator thread; the sampling thread
 *   itself is running while it reads, so one is subtracted. The mean over the round is
 *   compared with `os.availableParallelism()`.
 * - CPU wait: the time a thread was runnable but waiting for a CPU (second field of
 *   /proc/thread-self/schedstat, ns), as a share of the round's wall time. Read for the
 *   generator thread and for the thread that called `measure()`, whose event loop serves an
 *   app in this process (an idle thread barely waits, so for a server elsewhere it stays low). Unlike event-loop utilisation it counts the delay between a wake-up (a timer, a
 *   socket becoming readable) and the thread running, and unlike event-loop delay it does not
 *   count the thread's own work: a server slowed by its own CPU work does not wait for a CPU
 *   unless more threads are runnable than there are cores.
 * - steal: the share of CPU time the hypervisor gave to other guests (/proc/stat `cpu` line).
 * The generator's timer lateness (event-loop delay p99, `perf_hooks.monitorEventLoopDelay`)
 * is recorded alongside for the reason text; it also counts the generator's own work, so it
 * is evidence, not a rule.
 */

/** The run-queue sampling interval, ms. */
export const RUN_QUEUE_SAMPLE_MS = 20;

/** The lateness timer's interval, ms (the histogram records whole intervals; it is subtracted). */
const LATENESS_RESOLUTION_MS = 10;

/** What the generator thread measured about the host over one job. */
export interface HostSample {
  /** `os.availableParallelism()`. */
  cores: number;
  /** Mean runnable tasks on the machine over the job, the sampler excluded (Linux). */
  runQueue?: number;
  /** Share of the job's wall time the generator thread waited for a CPU (Linux). */
  generatorWait?: number;
  /** Share of the job's wall time the thread that ran `measure()` (it serves an app in this process) waited for a CPU (Linux). */
  serverWait?: number;
  /** Share of all CPU time stolen by the hypervisor (Linux). */
  steal?: number;
  /** p99 of the generator's timer lateness (event-loop delay), µs. */
  lateP99Us?: number;
  /**
   * This process's CPU time over the job (every thread but the sampling one: an app served in
   * this process, other generator threads), as a mean of busy cores. Subtracted from the run queue, it leaves the
   * tasks other processes kept runnable: a neighbour (see analyze.ts `noise.othersRunnable`).
   */
  ownCpu?: number;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/** This thread's CPU wait so far, ns (Linux `schedstat`), or undefined elsewhere. */
export function threadWaitNs(): number | undefined {
  const text = read('/proc/thread-self/schedstat');
  const wait = text === undefined ? Number.NaN : Number(text.split(' ')[1]);
  return Number.isFinite(wait) ? wait : undefined;
}

function procStat(): { running?: number; steal?: number; total?: number } {
  const text = read('/proc/stat');
  if (text === undefined) return {};
  const running = /^procs_running (\d+)/m.exec(text)?.[1];
  const cpu = /^cpu +([\d ]+)/m.exec(text)?.[1]?.trim().split(/ +/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = cpu?.slice(0, 8).reduce((a, b) => a + b, 0);
  return {
    ...(running === undefined ? {} : { running: Number(running) }),
    ...(cpu && cpu.length >= 8 ? { steal: cpu[7], total } : {}),
  };
}

/** Samples the host for the duration of one job; `stop()` returns the figures. */
export function sampleHost(): { stop(wallMs: number): HostSample } {
  const wait0 = threadWaitNs();
  const stat0 = procStat();
  const own0 = process.cpuUsage();
  const self0 = process.threadCpuUsage();
  const delay = monitorEventLoopDelay({ resolution: LATENESS_RESOLUTION_MS });
  delay.enable();
  let sum = 0;
  let count = 0;
  const tick = () => {
    const running = procStat().running;
    if (running === undefined) return;
    sum += Math.max(0, running - 1);
    count++;
  };
  tick();
  const timer = setInterval(tick, RUN_QUEUE_SAMPLE_MS);
  timer.unref();
  return {
    stop(wallMs: number): HostSample {
      clearInterval(timer);
      tick();
      delay.disable();
      const wait1 = threadWaitNs();
      const stat1 = procStat();
      const out: HostSample = { cores: availableParallelism() };
      if (count > 0) out.runQueue = sum / count;
      if (wait0 !== undefined && wait1 !== undefined && wallMs > 0) out.generatorWait = (wait1 - wait0) / 1e6 / wallMs;
      if (stat0.total !== undefined && stat1.total !== undefined && stat1.total > stat0.total) {
        out.steal = ((stat1.steal ?? 0) - (stat0.steal ?? 0)) / (stat1.total - stat0.total);
      }
      // The sampling thread is already left out of the run queue, so its own CPU is left out here.
      const own = process.cpuUsage(own0);
      const self = process.threadCpuUsage(self0);
      if (wallMs > 0) out.ownCpu = Math.max(0, own.user + own.system - self.user - self.system) / 1000 / wallMs;
      if (delay.count > 0) out.lateP99Us = Math.max(0, delay.percentile(99) / 1000 - LATENESS_RESOLUTION_MS * 1000);
      return out;
    },
  };
}
