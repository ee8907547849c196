import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/**
 * An app server's log: every line it prints, appended to a file that is kept for the report,
 * and held in memory (up to a cap) so a test can find the lines of its own requests by trace
 * id. Lines need not be JSON; a trace id is found anywhere in the line's text.
 */

/** One line the server printed. */
export interface LogEntry {
  /** 1-based position in the log. */
  seq: number;
  /** When it was read, ms since the epoch. */
  at: number;
  stream: 'stdout' | 'stderr';
  text: string;
  /** The parsed line when it is a JSON object. */
  json?: Record<string, unknown>;
}

/** Lines kept in memory; the file keeps everything. */
const MAX_ENTRIES = 50_000;

/** True when the line reports a failure: level error/fatal, or an HTTP status ≥ 500. */
export function isFailure(entry: LogEntry): boolean {
  const j = entry.json;
  if (!j) return /\b(error|fatal)\b/i.test(entry.text) && entry.stream === 'stderr';
  const level = String(j.level ?? '').toLowerCase();
  const status = Number(j.status ?? j.statusCode ?? 0);
  return level === 'error' || level === 'fatal' || level === '50' || level === '60' || status >= 500;
}

/** The trace id a JSON line carries (`traceId`, `trace_id`, `requestId`, `reqId`), if any. */
export function traceIdOf(entry: LogEntry): string | undefined {
  const j = entry.json;
  if (!j) return undefined;
  for (const key of ['traceId', 'trace_id', 'traceID', 'requestId', 'request_id', 'reqId']) {
    const v = j[key];
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
}

export class ServerLog {
  /** The file every line is appended to. */
  readonly file: string;
  private readonly entries: LogEntry[] = [];
  private readonly partial = { stdout: '', stderr: '' };
  private readonly out: WriteStream;
  private readonly waiters = new Set<(entry: LogEntry) => void>();
  private dropped = 0;
  private seq = 0;

  constructor(file: string) {
    this.file = file;
    mkdirSync(path.dirname(file), { recursive: true });
    this.out = createWriteStream(file, { flags: 'a' });
  }

  /** Feeds a chunk of output; complete lines become entries, a trailing partial line waits. */
  write(stream: 'stdout' | 'stderr', chunk: string | Buffer): void {
    const text = this.partial[stream] + chunk.toString();
    const lines = text.split('\n');
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.add(stream, line.replace(/\r$/, ''));
  }

  /** Adds one line (an in-process app's structured log line, or a note from shipgate). */
  add(stream: 'stdout' | 'stderr', text: string): LogEntry {
    this.seq += 1;
    const entry: LogEntry = { seq: this.seq, at: Date.now(), stream, text };
    if (text.startsWith('{')) {
      try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
          entry.json = parsed as Record<string, unknown>;
      } catch {
        // not JSON after all; kept as text
      }
    }
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) {
      this.entries.shift();
      this.dropped += 1;
    }
    this.out.write(`${text}\n`);
    for (const waiter of this.waiters) waiter(entry);
    return entry;
  }

  /** Position of the last line so far; pass it to `since` to get what came after. */
  mark(): number {
    return this.seq;
  }

  /** Lines after `mark` (exclusive). */
  since(mark: number): LogEntry[] {
    const first = this.entries[0]?.seq ?? this.seq + 1;
    return this.entries.slice(Math.max(0, mark + 1 - first));
  }

  /** Lines (after `mark`) whose text contains any of `traceIds`. */
  withTraceIds(traceIds: Iterable<string>, mark = 0): LogEntry[] {
    const ids = [...new Set(traceIds)].filter(Boolean);
    if (ids.length === 0) return [];
    return this.since(mark).filter((e) => ids.some((id) => e.text.includes(id)));
  }

  /** The last `n` lines, for error messages. */
  tail(n = 20): string[] {
    return this.entries.slice(-n).map((e) => e.text);
  }

  /** Lines no longer held in memory because of the cap (still in the file). */
  get droppedLines(): number {
    return this.dropped;
  }

  /**
   * Resolves with the first line that `match` accepts: among the lines after `since` when it is
   * given, else from now on. Rejects after `timeoutMs`.
   */
  waitFor(match: (entry: LogEntry) => boolean, timeoutMs: number, since?: number): Promise<LogEntry> {
    const seen = since === undefined ? undefined : this.since(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (entry: LogEntry) => {
        if (!match(entry)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(entry);
      };
      this.waiters.add(waiter);
    });
  }

  /** Flushes partial lines and closes the file. */
  async close(): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) {
        const rest = this.partial[stream];
        this.partial[stream] = '';
        this.add(stream, rest);
      }
    }
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}
