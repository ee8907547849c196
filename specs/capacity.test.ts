/**
 * Issue 14 #8: the connection check counts the pool that the app's own Prisma factory opens.
 * The README's factory opens 10 connections per client; with max_connections 42 and 4 workers
 * the old check said "36 needed", and the run then failed with 53300 at 42 of 42.
 */
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../fixtures/vitest.ts';
import { DatabaseError } from '../plugins/core/errors.ts';
import { measureFactoryPool } from '../plugins/pool-probe.ts';
import { Databases } from '../plugins/postgres/databases.ts';
import { checkConnectionCapacity } from '../plugins/session.ts';

const factory = 'example/src/db.ts#createPrisma';

function manager(rt: { adminUrl: string; prefix: string; runId: string; major: number }): Databases {
  const d = new Databases(rt.adminUrl, { prefix: rt.prefix, runId: rt.runId, major: rt.major });
  onTestFinished(() => d.close());
  return d;
}

describe("the app factory's pool in the connection check", () => {
  test("the factory's pool is measured on the server: 10 by default, 7 with DATABASE_POOL_MAX=7", async ({
    shipgate,
  }) => {
    const dbs = manager(shipgate);
    const byDefault = await measureFactoryPool(factory, shipgate.root, dbs);
    expect(byDefault.connections).toBe(10);
    process.env.DATABASE_POOL_MAX = '7';
    onTestFinished(() => {
      delete process.env.DATABASE_POOL_MAX;
    });
    expect((await measureFactoryPool(factory, shipgate.root, dbs)).connections).toBe(7);
  });

  test('a worker count that fits shipgate’s own pools but not the factory’s is refused, naming the factory pool', async ({
    shipgate,
    db,
  }) => {
    const [row] = await db.rows<{ free: number }>(
      `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
              - (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS free`,
    );
    const free = row?.free ?? 0;
    // The largest worker count the old rule (poolSize 5 + 3 per worker, + 4) accepts.
    const workers = Math.floor((free - 4 - 2) / 8);
    await expect(checkConnectionCapacity(shipgate.adminUrl, workers, 5)).resolves.toBeUndefined();
    const appPool = await measureFactoryPool(factory, shipgate.root, manager(shipgate));
    const err = await checkConnectionCapacity(shipgate.adminUrl, workers, 5, appPool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as Error).message).toContain(`${workers} workers × (poolSize 5 + prisma factory's pool 10 + 3) + 4`);
    expect((err as Error).message).toContain('new PrismaPg({ max })');
  });

  test('a factory whose client cannot be asked is reported as not measured, not as zero silently', async ({
    shipgate,
  }) => {
    const got = await measureFactoryPool(
      'specs/fixtures-vitest/opaque-factory.ts#make',
      shipgate.root,
      manager(shipgate),
    );
    expect(got).toEqual({ connections: 0, how: expect.stringContaining('has neither $queryRawUnsafe nor query') });
  });
});
