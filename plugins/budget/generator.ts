import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { onTeardown } from '../core/cleanup.ts';
import { ownModule } from '../core/own-files.ts';
import { BudgetError } from './errors.ts';
import { concatRecords } from './recorder.ts';
import {
  absoluteMs,
  type GeneratorJob,
  type GeneratorStats,
  type MainMessage,
  type RequestRecord,
  type WorkerMessage,
} from './wire.ts';

const WORKER = ownModule('./generator-worker.ts', import.meta.url);

/** One generator worker thread: runs jobs one at a time. */
class Thread {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: { record: RequestRecord; stats: GeneratorStats }) => void; reject: (e: Error) => void }
  >();
  closed = false;
  readonly worker: Worker;

  constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'done') p.resolve({ record: msg.record, stats: msg.stats });
      else p.reject(new BudgetError('SHIPGATE_BUDGET_GENERATOR', `Load generator failed: ${msg.message}`));
    });
    const failAll = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) =>
      failAll(new BudgetError('SHIPGATE_BUDGET_GENERATOR', `Load generator crashed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => {
      if (!this.closed) {
        failAll(new BudgetError('SHIPGATE_BUDGET_GENERATOR', `Load generator exited unexpectedly (code ${code})`));
      }
    });
  }

  /** Starts a worker and waits until it is ready. */
  static async start(index: number): Promise<Thread> {
    const worker = new Worker(WORKER, { name: `shipgate-load-generator-${index}`, stdout: false, stderr: false });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: WorkerMessage) => {
        if (msg.type === 'ready') {
          worker.off('error', onError);
          resolve();
        }
      };
      const onError = (err: Error) =>
        reject(
          new BudgetError('SHIPGATE_BUDGET_GENERATOR', `Load generator failed to start: ${err.message}`, {
            cause: err,
          }),
        );
      worker.once('message', onMessage);
      worker.once('error', onError);
    });
    return new Thread(worker);
  }

  run(job: GeneratorJob): Promise<{ record: RequestRecord; stats: GeneratorStats }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, job } satisfies MainMessage);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}

/** Generator threads when none are asked for: half the cores this process may use, from 1 to 4. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

/**
 * The load generator: one or more worker threads. A burst or open-loop job is split over the
 * threads (each takes a share of the users, or every n-th arrival) and the parts are merged
 * into one record; a ramping-VU job runs on one thread. `await using` stops it.
 */
export class Generator implements AsyncDisposable {
  private readonly unregister: () => void;
  private closed = false;

  private readonly threads: Thread[];

  private constructor(threads: Thread[]) {
    this.threads = threads;
    // Worker threads die with the process; this only makes Ctrl-C stop a long run promptly.
    this.unregister = onTeardown('budget load generator', () => this.close());
  }

  /** Starts `threads` workers (default {@link defaultThreads}) and waits until they are ready. */
  static async start(threads = defaultThreads()): Promise<Generator> {
    const n = Math.max(1, Math.floor(threads));
    const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => Thread.start(i)));
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(ok.map((t) => t.close()));
      throw failed.reason;
    }
    return new Generator(ok);
  }

  /** How many threads this generator has. */
  get size(): number {
    return this.threads.length;
  }

  /** Runs one job; resolves with every request's record and the generator's own statistics. */
  async run(job: GeneratorJob): Promise<{ record: RequestRecord; stats: GeneratorStats }> {
    if (this.closed) throw new BudgetError('SHIPGATE_BUDGET_GENERATOR', 'Load generator is closed');
    const splittable = job.engine === 'burst' || job.engine === 'open';
    const of = splittable ? Math.min(this.threads.length, job.engine === 'burst' ? (job.vus ?? 1) : Infinity) : 1;
    if (of <= 1) return (this.threads[0] as Thread).run(job);
    // One time zero for every part, a little ahead so that each thread has the job by then.
    const startAtMs = absoluteMs() + 30;
    const parts = await Promise.all(
      this.threads.slice(0, of).map((t, index) => t.run({ ...job, part: { index, of, startAtMs } })),
    );
    return mergeParts(parts);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    await Promise.all(this.threads.map((t) => t.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * One record and one account from the parts of a split job. Every part's times are moved onto
 * the earliest part's time zero (the threads start within a millisecond or so of each other);
 * counts add up, and the utilisation and CPU figures are the busiest thread's, since a single
 * saturated thread is what limits the load.
 */
export function mergeParts(parts: readonly { record: RequestRecord; stats: GeneratorStats }[]): {
  record: RequestRecord;
  stats: GeneratorStats;
} {
  const zero = Math.min(...parts.map((p) => p.stats.startedAtMonotonicMs));
  const record = concatRecords(
    parts.map((p) => {
      const shift = (p.stats.startedAtMonotonicMs - zero) * 1000;
      if (shift === 0) return p.record;
      const scheduledUs = p.record.scheduledUs.map((v) => v + shift);
      return { ...p.record, scheduledUs };
    }),
  );
  const first = parts[0] as { stats: GeneratorStats };
  const sum = (k: 'planned' | 'dispatched' | 'completed' | 'dropped' | 'abandoned' | 'maxInFlight') =>
    parts.reduce((s, p) => s + p.stats[k], 0);
  const busiest = parts.reduce((a, b) =>
    b.stats.cpuUs / Math.max(1, b.stats.wallUs) > a.stats.cpuUs / Math.max(1, a.stats.wallUs) ? b : a,
  );
  const wallUs = Math.max(...parts.map((p) => p.stats.wallUs + (p.stats.startedAtMonotonicMs - zero) * 1000));
  return {
    record,
    stats: {
      ...first.stats,
      startedAtEpochMs: Math.min(...parts.map((p) => p.stats.startedAtEpochMs)),
      startedAtMonotonicMs: zero,
      wallUs,
      planned: sum('planned'),
      dispatched: sum('dispatched'),
      completed: sum('completed'),
      dropped: sum('dropped'),
      abandoned: sum('abandoned'),
      maxInFlight: sum('maxInFlight'),
      elu: Math.max(...parts.map((p) => p.stats.elu)),
      cpuUs: (busiest.stats.cpuUs / Math.max(1, busiest.stats.wallUs)) * wallUs,
      threads: parts.length,
    },
  };
}
