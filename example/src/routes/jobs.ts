import { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { JobRunner } from '../jobs.ts';
import { traceIdOf } from '../trace.ts';
import { idParam, int, optional, parse, parseQuery } from '../validate.ts';

/**
 * One-touch triage runs: `POST /api/jobs` `{agentId}` starts one (202), `GET /api/jobs` lists the
 * newest, `GET /api/jobs/:id` is its progress with the drafts so far, `POST /api/jobs/:id/send`
 * sends a done job's drafts (409 while it runs, or once sent).
 */
export function jobRoutes(prisma: PrismaClient, runner: JobRunner): Router {
  const router = Router();

  router.post('/api/jobs', async (req, res) => {
    const { agentId } = parse(req.body, { agentId: int() });
    const job = await runner.start(agentId, traceIdOf(res));
    res.status(202).location(`/api/jobs/${job.id}`).json(job);
  });

  router.get('/api/jobs', async (req, res) => {
    const { limit = 10 } = parseQuery(req.query, { limit: optional(int({ coerce: true, max: 50 })) });
    const items = await prisma.job.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include: { agent: { select: { id: true, name: true } } },
    });
    res.json({ items });
  });

  router.get('/api/jobs/:id', async (req, res) => {
    const id = idParam(req.params.id);
    const job = await runner.view(id);
    const drafts = await prisma.jobDraft.findMany({
      where: { jobId: id },
      orderBy: { id: 'asc' },
      include: { ticket: { select: { id: true, title: true } } },
    });
    res.json({ ...job, drafts });
  });

  router.post('/api/jobs/:id/send', async (req, res) => {
    res.json(await runner.send(idParam(req.params.id)));
  });

  return router;
}
