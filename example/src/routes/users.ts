import { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { NotFoundError } from '../http-error.ts';
import { email, idParam, oneOf, optional, parse, str } from '../validate.ts';

export const ROLES = ['customer', 'agent', 'admin'] as const;

const userSelect = { id: true, email: true, name: true, role: true, createdAt: true } as const;

/** `POST /api/users` (409 on a taken email), `GET /api/users/:id`. */
export function userRoutes(prisma: PrismaClient): Router {
  const router = Router();

  router.post('/api/users', async (req, res) => {
    const data = parse(req.body, { email: email(), name: str({ max: 100 }), role: optional(oneOf(ROLES)) });
    const user = await prisma.user.create({ data, select: userSelect });
    res.status(201).location(`/api/users/${user.id}`).json(user);
  });

  router.get('/api/users/:id', async (req, res) => {
    const id = idParam(req.params.id);
    const user = await prisma.user.findUnique({
      where: { id },
      select: { ...userSelect, _count: { select: { tickets: true, messages: true } } },
    });
    if (!user) throw new NotFoundError('User', id);
    const { _count, ...rest } = user;
    res.json({ ...rest, ticketCount: _count.tickets, messageCount: _count.messages });
  });

  return router;
}
