import { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { JobRunner } from '../jobs.ts';
import { renderDashboard } from './dashboard.ts';
import { uiErrorHandler } from './errors.ts';
import { jobPages } from './jobs.ts';
import { ticketPages } from './tickets.ts';

/** Options of the web UI. */
export interface UiOptions {
  /** How often the progress sheet polls its job. Default 250 ms; env `UI_POLL_MS`. */
  pollMs?: number;
}

/**
 * The help desk's web UI: server-rendered pages with stable `data-testid`s (see
 * docs/e2e.md), no bundle. Errors on these pages render as HTML with the request's trace id.
 */
export function uiRoutes(prisma: PrismaClient, runner: JobRunner, options: UiOptions = {}): Router {
  const pollMs = options.pollMs ?? (Number(process.env.UI_POLL_MS) || 250);
  const router = Router();
  router.get('/', async (_req, res) => {
    await renderDashboard(prisma, res);
  });
  router.use(jobPages(prisma, runner, pollMs));
  router.use(ticketPages(prisma));
  router.use(uiErrorHandler);
  return router;
}
