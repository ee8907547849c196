import pg from 'pg';
import { endWithin, pgConnectOptions } from '../core/pg-timeouts.ts';
import type { TestDatabase } from '../postgres/index.ts';
import type { QueryTap } from './wire-tap.ts';

/**
 * `database` reached through `tap`: the same database, with its URL and its pool pointed at
 * the tap, so whatever the test and the app run on it is seen. Drop and keep close this pool
 * and then the tap, and delegate (the original's pool is never opened).
 */
export function viaTap(database: TestDatabase, tap: QueryTap, poolSize = 5): TestDatabase {
  const url = tap.url(database.url);
  let pool: pg.Pool | undefined;
  const getPool = () => {
    if (!pool) {
      pool = new pg.Pool({ connectionString: url, max: poolSize, ...pgConnectOptions() });
      pool.on('error', () => {});
    }
    return pool;
  };
  const release = async () => {
    const p = pool;
    pool = undefined;
    await endWithin(p, 2_000);
    await tap.close();
  };
  const tapped: TestDatabase = {
    name: database.name,
    url,
    get pool() {
      return getPool();
    },
    query: (text, values) => getPool().query(text, values),
    drop: async () => {
      await release();
      await database.drop();
    },
    keep: async () => {
      await release();
      return database.keep();
    },
    [Symbol.asyncDispose]: () => tapped.drop(),
  };
  return tapped;
}
