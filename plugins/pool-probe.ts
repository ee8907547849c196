import { loadModuleFunction } from './core/config.ts';
import { debug } from './core/debug.ts';
import { describeError } from './core/errors.ts';
import type { Databases } from './postgres/databases.ts';

/**
 * How many connections one client from the user's `prisma` factory opens, measured: the
 * factory builds a client on a scratch database, a burst of concurrent sleeps goes through it,
 * and the server counts the sessions on that database. A factory's pool is its own business
 * (`new PrismaPg({ max })`, `DATABASE_POOL_MAX`, a default of 10), so asking the server is the
 * one answer that holds for every factory. The connection check counts it per worker.
 */

const log = debug('pool-probe');

/** Concurrent statements in the burst: the measurement's ceiling. */
const BURST = 64;

/** The measured pool of one factory client. */
export interface FactoryPool {
  /** Peak sessions one client opened (0 when the factory could not be measured). */
  connections: number;
  /** How the number was found, for the capacity message. */
  how: string;
}

type Queryable = {
  $queryRawUnsafe?: (sql: string) => Promise<unknown>;
  query?: (sql: string) => Promise<unknown>;
  $disconnect?: () => Promise<void>;
  end?: () => Promise<void>;
};

/** Measures the pool of one client from the factory `ref` (`path#export`, config key `prisma`). */
export async function measureFactoryPool(ref: string, root: string, databases: Databases): Promise<FactoryPool> {
  const factory = await loadModuleFunction<(url: string, ctx: object) => unknown>(ref, root, 'prisma');
  const scratch = await databases.createEmpty(1);
  let client: Queryable | undefined;
  try {
    client = (await factory(scratch.url, {})) as Queryable;
    const run = client.$queryRawUnsafe?.bind(client) ?? client.query?.bind(client);
    if (!run) return { connections: 0, how: `the client from "${ref}" has neither $queryRawUnsafe nor query` };
    let peak = 0;
    let done = false;
    const sample = (async () => {
      while (!done) {
        const { rows } = await scratch.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        peak = Math.max(peak, rows[0]?.n ?? 0);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    try {
      await Promise.all(Array.from({ length: BURST }, () => run('SELECT 1 AS one FROM pg_sleep(0.05)')));
    } finally {
      done = true;
      await sample;
    }
    log('factory %s: peak %d sessions under %d concurrent statements', ref, peak, BURST);
    return {
      connections: peak,
      how: `measured: ${peak} connection(s) under ${BURST} concurrent statements${peak >= BURST ? ' (at least)' : ''}`,
    };
  } catch (err) {
    return { connections: 0, how: `not measured: ${describeError(err)}` };
  } finally {
    await (client?.$disconnect ?? client?.end)?.call(client).catch(() => undefined);
    await scratch.drop();
  }
}
