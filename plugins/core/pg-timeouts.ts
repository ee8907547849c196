import { ConfigError } from './errors.ts';
import { envValue } from './settings.ts';

/**
 * Bounds on every connection shipgate opens to Postgres, so that a frozen server, a killed one
 * or a listener that accepts and never answers ends in a clear failure instead of a hang.
 * `SHIPGATE_PG_TIMEOUT_MS` (default 10 s) limits connecting and each short admin statement;
 * `CREATE DATABASE` and `DROP DATABASE`, which copy or remove files, get six times that. TCP
 * keepalive finds a peer that vanished without closing. Long work (a migration, a template
 * build, waiting for another process's build) is not cut off by it.
 */

/** The default of `SHIPGATE_PG_TIMEOUT_MS`. */
export const DEFAULT_PG_TIMEOUT_MS = 10_000;
const DEFAULT_MS = DEFAULT_PG_TIMEOUT_MS;

/** True for pg's own words when one of these bounds ran out. */
export function isPgTimeout(err: unknown): boolean {
  return (
    err instanceof Error &&
    /^(timeout expired|Connection terminated due to connection timeout|Query read timeout)$/.test(err.message)
  );
}

/** `SHIPGATE_PG_TIMEOUT_MS`, validated: a positive integer of milliseconds. */
export function pgTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = envValue('SHIPGATE_PG_TIMEOUT_MS', env);
  if (text === undefined) return DEFAULT_MS;
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new ConfigError([
      `SHIPGATE_PG_TIMEOUT_MS is "${text}", expected a positive whole number of milliseconds (default ${DEFAULT_MS})`,
    ]);
  }
  return ms;
}

/** Connection options for `pg.Client` / `pg.Pool`: connect timeout and TCP keepalive. */
export function pgConnectOptions(): {
  connectionTimeoutMillis: number;
  keepAlive: true;
  keepAliveInitialDelayMillis: number;
} {
  return { connectionTimeoutMillis: pgTimeoutMs(), keepAlive: true, keepAliveInitialDelayMillis: 5_000 };
}

interface Closable {
  end(): Promise<void>;
}

/**
 * Ends a pg client or pool, waiting at most `ms`. A frozen server never answers the goodbye,
 * and a pool waits for a client stuck in a query: then the sockets are destroyed.
 */
export async function endWithin(target: Closable | undefined, ms = pgTimeoutMs()): Promise<boolean> {
  if (!target) return true;
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    target.end().then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  if (!ended) destroySockets(target);
  return ended;
}

/** Destroys the sockets of a pg Client, or of every client of a pg Pool (internal fields). */
function destroySockets(target: unknown): void {
  const t = target as { _clients?: unknown[]; connection?: { stream?: { destroy(): void } } };
  for (const c of t._clients ?? [t]) {
    (c as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

/**
 * A query config with a client-side read timeout (`query_timeout`, which pg honours per query
 * but does not declare in its types): the statement fails after `ms` without an answer.
 */
export function timedQuery(text: string, values?: unknown[], ms = pgTimeoutMs()): { text: string; values?: unknown[] } {
  return { text, values, query_timeout: ms } as { text: string; values?: unknown[] };
}
