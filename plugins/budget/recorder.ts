import { REQUEST_ERROR, type RequestRecord } from './wire.ts';

/**
 * Growable columnar record of every request, kept by the generator: microsecond floats, never
 * rounded. Transferred to the main thread without copying.
 */
export class Recorder {
  n = 0;
  private cap: number;
  seq: Uint32Array;
  scheduledUs: Float64Array;
  latencyUs: Float64Array;
  serverUs: Float64Array;
  status: Uint16Array;
  error: Uint8Array;
  lagUs: Float32Array;

  constructor(initial = 1024) {
    this.cap = Math.max(16, initial);
    this.seq = new Uint32Array(this.cap);
    this.scheduledUs = new Float64Array(this.cap);
    this.latencyUs = new Float64Array(this.cap);
    this.serverUs = new Float64Array(this.cap);
    this.status = new Uint16Array(this.cap);
    this.error = new Uint8Array(this.cap);
    this.lagUs = new Float32Array(this.cap);
  }

  private grow(): void {
    this.cap *= 2;
    const g = <T extends Uint32Array | Float64Array | Uint16Array | Uint8Array | Float32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(this.cap);
      b.set(a);
      return b;
    };
    this.seq = g(this.seq);
    this.scheduledUs = g(this.scheduledUs);
    this.latencyUs = g(this.latencyUs);
    this.serverUs = g(this.serverUs);
    this.status = g(this.status);
    this.error = g(this.error);
    this.lagUs = g(this.lagUs);
  }

  add(
    seq: number,
    scheduledUs: number,
    latencyUs: number,
    status: number,
    serverUs: number,
    error: number,
    lagUs: number,
  ): void {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.seq[i] = seq;
    this.scheduledUs[i] = scheduledUs;
    this.latencyUs[i] = latencyUs;
    this.serverUs[i] = serverUs;
    this.status[i] = status;
    this.error[i] = error;
    this.lagUs[i] = lagUs;
  }

  /** Trimmed copies (so their buffers can be transferred). */
  finish(): RequestRecord {
    const n = this.n;
    return {
      n,
      seq: this.seq.slice(0, n),
      scheduledUs: this.scheduledUs.slice(0, n),
      latencyUs: this.latencyUs.slice(0, n),
      serverUs: this.serverUs.slice(0, n),
      status: this.status.slice(0, n),
      error: this.error.slice(0, n),
      lagUs: this.lagUs.slice(0, n),
    };
  }
}

/** Buffers of a record, for `postMessage`'s transfer list. */
export function transferables(r: RequestRecord): ArrayBuffer[] {
  return [r.seq, r.scheduledUs, r.latencyUs, r.serverUs, r.status, r.error, r.lagUs].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

/** Concatenates records (rounds of one target). */
export function concatRecords(records: readonly RequestRecord[]): RequestRecord {
  const n = records.reduce((s, r) => s + r.n, 0);
  const out: RequestRecord = {
    n,
    seq: new Uint32Array(n),
    scheduledUs: new Float64Array(n),
    latencyUs: new Float64Array(n),
    serverUs: new Float64Array(n),
    status: new Uint16Array(n),
    error: new Uint8Array(n),
    lagUs: new Float32Array(n),
  };
  let at = 0;
  for (const r of records) {
    out.seq.set(r.seq, at);
    out.scheduledUs.set(r.scheduledUs, at);
    out.latencyUs.set(r.latencyUs, at);
    out.serverUs.set(r.serverUs, at);
    out.status.set(r.status, at);
    out.error.set(r.error, at);
    out.lagUs.set(r.lagUs, at);
    at += r.n;
  }
  return out;
}

const SERVER_TIMING_ENTRY = /(?:^|,)\s*([^;,\s]+)([^,]*)/g;
const DUR = /;\s*dur\s*=\s*"?([0-9]*\.?[0-9]+)/i;

/**
 * Server-side time in µs from a `Server-Timing` header: the metric `name` when present, else the
 * largest `dur` in the header; NaN when there is none. Values are ms, per the spec.
 */
export function parseServerTimingUs(header: string | string[] | undefined, name: string): number {
  if (!header) return Number.NaN;
  const text = Array.isArray(header) ? header.join(',') : header;
  let best = Number.NaN;
  SERVER_TIMING_ENTRY.lastIndex = 0;
  for (let m = SERVER_TIMING_ENTRY.exec(text); m; m = SERVER_TIMING_ENTRY.exec(text)) {
    const dur = DUR.exec(m[2] ?? '');
    if (!dur) continue;
    const us = Number(dur[1]) * 1000;
    if (m[1] === name) return us;
    if (!(us <= best)) best = us;
  }
  return best;
}

/** Whether an entry counts as an error: no response, or a status outside `ok`. */
export function isErrorEntry(status: number, error: number, ok: (status: number) => boolean): boolean {
  return error !== REQUEST_ERROR.none || !ok(status);
}
