import { Worker } from 'node:worker_threads';
import { onTeardown } from '../core/cleanup.ts';
import { ownModule } from '../core/own-files.ts';
import { BudgetError } from './errors.ts';
import type { GeneratorJob, GeneratorStats, MainMessage, RequestRecord, WorkerMessage } from './wire.ts';

const WORKER = ownModule('./generator-worker.ts', import.meta.url);

/** The load generator: a worker thread that runs jobs one at a time. `await using` stops it. */
export class Generator implements AsyncDisposable {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: { record: RequestRecord; stats: GeneratorStats }) => void; reject: (e: Error) => void }
  >();
  private readonly unregister: () => void;
  private closed = false;

  private constructor(worker: Worker) {
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
    // Worker threads die with the process; this only makes Ctrl-C stop a long run promptly.
    this.unregister = onTeardown('budget load generator', () => this.close());
  }

  /** Starts the worker and waits until it is ready. */
  static async start(): Promise<Generator> {
    const worker = new Worker(WORKER, { name: 'shipgate-load-generator', stdout: false, stderr: false });
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
    return new Generator(worker);
  }

  /** Runs one job; resolves with every request's record and the generator's own statistics. */
  run(job: GeneratorJob): Promise<{ record: RequestRecord; stats: GeneratorStats }> {
    if (this.closed) return Promise.reject(new BudgetError('SHIPGATE_BUDGET_GENERATOR', 'Load generator is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, job } satisfies MainMessage);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    await this.worker.terminate();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
