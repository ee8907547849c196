import { Router } from 'express';
import { after, decodeCursor, page } from '../cursor.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { NotFoundError, orNotFound } from '../http-error.ts';
import { idParam, int, optional, parse, parseQuery, str } from '../validate.ts';

/** `POST /api/tickets/:id/messages` (bumps the ticket's updatedAt), `GET /api/tickets/:id/messages` (`?limit&cursor`, oldest first). */
export function messageRoutes(prisma: PrismaClient): Router {
  const router = Router();

  router.post('/api/tickets/:id/messages', async (req, res) => {
    const ticketId = idParam(req.params.id);
    const data = parse(req.body, { authorId: int(), body: str({ max: 20_000 }) });
    // Touch the ticket first: a missing ticket fails there with P2025 (404) rather than as a
    // foreign-key error on the insert, which the handler reports as a bad authorId.
    const [, message] = await orNotFound(
      'Ticket',
      ticketId,
      prisma.$transaction([
        prisma.ticket.update({ where: { id: ticketId }, data: { updatedAt: new Date() }, select: { id: true } }),
        prisma.message.create({ data: { ...data, ticketId } }),
      ]),
    );
    res.status(201).json(message);
  });

  router.get('/api/tickets/:id/messages', async (req, res) => {
    const ticketId = idParam(req.params.id);
    const q = parseQuery(req.query, {
      limit: optional(int({ coerce: true, max: 200 })),
      cursor: optional(str({ max: 200 })),
    });
    const limit = q.limit ?? 50;
    const ticket = await prisma.ticket.findUnique({
      where: { id: ticketId },
      select: {
        messages: {
          where: after(decodeCursor(q.cursor), 'asc'),
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
          take: limit + 1,
        },
      },
    });
    if (!ticket) throw new NotFoundError('Ticket', ticketId);
    res.json(page(ticket.messages, limit));
  });

  return router;
}
