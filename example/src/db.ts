import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from './generated/prisma/client.ts';

export { Prisma, PrismaClient } from './generated/prisma/client.ts';

export interface CreatePrismaOptions {
  /**
   * Use this pool instead of opening one (shipgate's rollback isolation passes a pool whose
   * connections live inside a test transaction). The client never ends a pool it was given.
   */
  pool?: pg.Pool;
  /** Pool size when the client opens its own pool. Default 10; env `DATABASE_POOL_MAX`. */
  max?: number;
}

/**
 * A Prisma client for `databaseUrl` over the `pg` driver adapter (Prisma 7 has no built-in
 * driver). Call `$disconnect()` when done: it ends the pool the client opened.
 */
export function createPrisma(databaseUrl: string, options: CreatePrismaOptions = {}): PrismaClient {
  const adapter = options.pool
    ? new PrismaPg(options.pool)
    : new PrismaPg({
        connectionString: databaseUrl,
        max: options.max ?? (Number(process.env.DATABASE_POOL_MAX) || 10),
        // pg waits forever for a connection by default; a dead host should fail a request
        // (and turn /health to 503), not hang it.
        connectionTimeoutMillis: 5_000,
      });
  return new PrismaClient({ adapter });
}
