import type { Socket } from 'node:net';

/** How one direction of a connection is shaped right now (read on every chunk, so changes apply at once). */
export interface Shape {
  /** Added delay per chunk, ms. */
  latencyMs: number;
  /** Uniform random ± spread around `latencyMs`, ms. */
  jitterMs: number;
  /** Link rate, bytes per second; 0 = unlimited. */
  bytesPerSecond: number;
}

/** Queue this many bytes before pausing the source: a bandwidth limit must not turn into unbounded buffering. */
const HIGH_WATER = 256 * 1024;

/**
 * One direction of a proxied connection: bytes read from `src` are written to `dst` after the
 * shape's delay, at most at its rate. Order is always preserved (a chunk is never due before the
 * one ahead of it), so jitter stretches gaps but never reorders bytes, as on a real TCP stream.
 *
 * Rate limiting models a link: each slice occupies the link for `bytes / rate` seconds, and the
 * latency is added after the slice has gone through (transmission delay + propagation delay).
 */
export class Lane {
  readonly #src: Socket;
  readonly #dst: Socket;
  readonly #shape: () => Shape;
  readonly #onBytes: (n: number) => void;
  readonly #queue: { chunk: Buffer; due: number }[] = [];
  #queuedBytes = 0;
  #lastDue = 0;
  #linkFreeAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #dstBlocked = false;
  #paused = false;
  #ended = false;
  #frozen = false;
  /** Called instead of forwarding the next chunk, once; see {@link Lane.interceptNext}. */
  #intercept: ((chunk: Buffer) => void) | undefined;

  constructor(src: Socket, dst: Socket, shape: () => Shape, onBytes: (n: number) => void) {
    this.#src = src;
    this.#dst = dst;
    this.#shape = shape;
    this.#onBytes = onBytes;
    src.on('data', (chunk: Buffer) => this.#push(chunk));
    src.on('end', () => {
      this.#ended = true;
      this.#pump();
    });
    dst.on('drain', () => {
      this.#dstBlocked = false;
      this.#flow();
    });
  }

  /** True when nothing is waiting to be written. */
  get idle(): boolean {
    return this.#queue.length === 0;
  }

  /** Stops forwarding for good and discards what is queued: a pulled cable, not a closed socket. */
  freeze(): void {
    this.#frozen = true;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    clearTimeout(this.#timer);
    this.#src.pause();
  }

  /** Hands the next chunk to `fn` instead of forwarding it. */
  interceptNext(fn: (chunk: Buffer) => void): void {
    this.#intercept = fn;
  }

  /** Clears timers; call when the connection is gone. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
  }

  #push(chunk: Buffer): void {
    if (this.#frozen) return;
    if (this.#intercept) {
      const fn = this.#intercept;
      this.#intercept = undefined;
      fn(chunk);
      return;
    }
    this.#onBytes(chunk.length);
    const shape = this.#shape();
    const now = performance.now();
    if (shape.latencyMs === 0 && shape.jitterMs === 0 && shape.bytesPerSecond === 0 && this.#queue.length === 0) {
      this.#write(chunk);
      return;
    }
    const delay = () => Math.max(0, shape.latencyMs + (Math.random() * 2 - 1) * shape.jitterMs);
    if (shape.bytesPerSecond > 0) {
      // Slices of ~50 ms of transmission keep the rate smooth for large results.
      const slice = Math.max(512, Math.min(64 * 1024, Math.floor(shape.bytesPerSecond / 20)));
      for (let off = 0; off < chunk.length; off += slice) {
        const part = chunk.subarray(off, off + slice);
        this.#linkFreeAt = Math.max(now, this.#linkFreeAt) + (part.length / shape.bytesPerSecond) * 1000;
        this.#enqueue(part, this.#linkFreeAt + delay());
      }
    } else {
      this.#enqueue(chunk, now + delay());
    }
    this.#flow();
    this.#pump();
  }

  #enqueue(chunk: Buffer, due: number): void {
    this.#lastDue = Math.max(this.#lastDue, due);
    this.#queue.push({ chunk, due: this.#lastDue });
    this.#queuedBytes += chunk.length;
  }

  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#frozen) return;
    const now = performance.now();
    for (let head = this.#queue[0]; head && head.due <= now; head = this.#queue[0]) {
      this.#queue.shift();
      this.#queuedBytes -= head.chunk.length;
      this.#write(head.chunk);
    }
    const head = this.#queue[0];
    if (head) this.#timer = setTimeout(() => this.#pump(), Math.max(1, head.due - now));
    else if (this.#ended && !this.#dst.destroyed) this.#dst.end();
    this.#flow();
  }

  #write(chunk: Buffer): void {
    if (this.#dst.destroyed) return;
    if (!this.#dst.write(chunk)) this.#dstBlocked = true;
    this.#flow();
  }

  // Backpressure: pause reading while the peer is slow or the delay queue is full.
  #flow(): void {
    if (this.#frozen) return;
    const shouldPause = this.#dstBlocked || this.#queuedBytes > HIGH_WATER;
    if (shouldPause && !this.#paused) {
      this.#paused = true;
      this.#src.pause();
    } else if (!shouldPause && this.#paused) {
      this.#paused = false;
      this.#src.resume();
    }
  }
}
