import type pg from 'pg';
import type { Isolation } from '../core/config.ts';
import type { TestDatabase } from './databases.ts';
import { SavepointClient, TransactionPool } from './transaction.ts';

/** Anything that runs a query: a pool, a client, or a {@link Db}. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** The `db` fixture: one test's view of its isolated database. */
export interface Db extends Queryable {
  readonly name: string;
  /**
   * Connection URL. In `rollback` isolation it reaches the file's database *outside* the
   * test's transaction; use `query`, `pool` or `prisma` to stay inside it.
   */
  readonly url: string;
  readonly isolation: Isolation;
  /** A pg pool; in `rollback` isolation every connection is the test's transaction. */
  readonly pool: pg.Pool;
  /** Runs a query and returns its rows. */
  rows<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Runs `fn` in a transaction (a savepoint in `rollback` isolation); rolls back when it throws. */
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Ends this test's use: rolls back in `rollback` isolation. Called by the fixture. */
  release(): Promise<void>;
}

/** A Db over a shared pool (`file` and `test` isolation). */
function pooledDb(database: TestDatabase, isolation: Isolation): Db {
  return {
    name: database.name,
    url: database.url,
    isolation,
    get pool() {
      return database.pool;
    },
    query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => database.query<R>(text, values),
    rows: async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      (await database.query<R>(text, values)).rows,
    async transaction(fn) {
      const client = await database.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    release: async () => {},
  };
}

/**
 * Opens the test's view of `database`. For `rollback`, call `begin()` on the result to get a
 * Db whose every query runs inside one transaction that `release()` rolls back.
 */
export function openDb(database: TestDatabase, isolation: 'file' | 'test'): Db;
export function openDb(database: TestDatabase, isolation: 'rollback'): { begin(): Promise<Db> };
export function openDb(database: TestDatabase, isolation: Isolation): Db | { begin(): Promise<Db> } {
  if (isolation !== 'rollback') return pooledDb(database, isolation);
  return {
    async begin(): Promise<Db> {
      const client = await database.pool.connect();
      await client.query('BEGIN');
      const sp = new SavepointClient(client);
      const pool = new TransactionPool(sp);
      let released = false;
      return {
        name: database.name,
        url: database.url,
        isolation,
        pool,
        query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> =>
          sp.query(text, values),
        rows: async <R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> =>
          (await sp.query(text, values)).rows,
        transaction: (fn) => sp.transaction(() => fn({ query: (t, v) => sp.query(t, v) })),
        async release() {
          if (released) return;
          released = true;
          try {
            await client.query('ROLLBACK');
            client.release();
          } catch (err) {
            // A broken connection (killed backend, protocol error) must not go back to the pool.
            client.release(err instanceof Error ? err : new Error(String(err)));
          }
        },
      };
    },
  };
}
