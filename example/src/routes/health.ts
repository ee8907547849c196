import { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';

/** `GET /health`: 200 `{ status: 'ok', db: 'up' }` after `SELECT 1`, else 503 `{ status: 'degraded', db: 'down' }`. */
export function healthRoutes(prisma: PrismaClient, timeoutMs: number): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      // A dead or blackholed database must turn health red quickly, not hang the probe.
      await Promise.race([
        prisma.$queryRaw`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`SELECT 1 took longer than ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      res.json({ status: 'ok', db: 'up' });
    } catch (err) {
      res.locals.error = err; // for the request log line
      res.status(503).json({ status: 'degraded', db: 'down' });
    } finally {
      clearTimeout(timer);
    }
  });
  return router;
}
