/**
 * The migration session's advisory lock (Prisma's key, so shipgate and `prisma migrate` exclude each
 * other) and query cancellation on abort.
 */
import pg from 'pg';
import { MigrationError } from '../core/errors.ts';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import { PRISMA_ADVISORY_LOCK_KEY } from './prisma-history.ts';

/**
 * Takes Prisma's lock (key 72707369, so shipgate and `prisma migrate` exclude each other) within
 * Prisma's 10 s limit, but by polling `pg_try_advisory_lock` instead of blocking in
 * `pg_advisory_lock`: a session blocked in that SELECT holds a snapshot, and a
 * `CREATE INDEX CONCURRENTLY` run by the lock holder waits for every older snapshot, so the two
 * deadlock (Postgres aborts one after deadlock_timeout; two concurrent `prisma migrate deploy` on a
 * CIC migration hit exactly that). Between polls the waiter holds no snapshot and no transaction.
 */
export async function acquireLock(
  client: pg.Client,
  timeoutMs: number,
  label: string,
  checkAborted: () => void = () => {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY}) AS ok`,
    );
    if (rows[0]?.ok) return;
    checkAborted();
    const left = deadline - performance.now();
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
  }
  const holders = await client
    .query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1 AND objsubid = 1",
      [PRISMA_ADVISORY_LOCK_KEY],
    )
    .then((r) => r.rows.map((row) => row.pid).join(', '))
    .catch(() => '');
  throw new MigrationError(
    'SHIPGATE_MIGRATION_LOCK_TIMEOUT',
    `Timed out after ${timeoutMs} ms waiting for Prisma's migration lock (advisory lock ${PRISMA_ADVISORY_LOCK_KEY}) on ${label}${holders ? ` (held by backend pid ${holders})` : ''}.`,
    {
      hint: 'Another migrate is running on this database; wait for it, or raise config key `migrator.lockTimeoutMs`.',
    },
  );
}

/** Releases the lock; errors are ignored because closing the session releases it anyway. */
export async function releaseLock(client: pg.Client): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK_KEY})`).catch(() => {});
}

/** Cancels the running query (pg_cancel_backend from a second connection) when `signal` aborts. */
export function cancelOnAbort(url: string, pid: number | undefined, signal: AbortSignal | undefined): () => void {
  if (!signal || pid === undefined) return () => {};
  const onAbort = () => {
    const side = new pg.Client({
      ...pgConnectOptions(),
      connectionString: url,
      application_name: 'shipgate:migrate-cancel',
    });
    side.on('error', () => {});
    void side
      .connect()
      .then(() => side.query('SELECT pg_cancel_backend($1)', [pid]))
      .catch(() => {})
      .finally(() => side.end().catch(() => {}));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
