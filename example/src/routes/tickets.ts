import { Router } from 'express';
import { after, decodeCursor, page } from '../cursor.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { HttpError, NotFoundError, orNotFound } from '../http-error.ts';
import { idParam, int, oneOf, optional, parse, parseQuery, str } from '../validate.ts';

export const STATUSES = ['open', 'pending', 'resolved', 'closed'] as const;
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const CHANNELS = ['email', 'web', 'chat', 'phone', 'api'] as const;

const editable = {
  title: str({ max: 200 }),
  body: str({ max: 20_000 }),
  status: oneOf(STATUSES),
  priority: oneOf(PRIORITIES),
  channel: oneOf(CHANNELS),
};

/** Tickets CRUD: list (`?limit&cursor&status`), create, read with messages, patch, delete. */
export function ticketRoutes(prisma: PrismaClient): Router {
  const router = Router();

  router.post('/api/tickets', async (req, res) => {
    const data = parse(req.body, {
      authorId: int(),
      title: editable.title,
      body: editable.body,
      status: optional(editable.status),
      priority: optional(editable.priority),
      channel: optional(editable.channel),
    });
    const ticket = await prisma.ticket.create({ data });
    res.status(201).location(`/api/tickets/${ticket.id}`).json(ticket);
  });

  router.get('/api/tickets', async (req, res) => {
    const q = parseQuery(req.query, {
      limit: optional(int({ coerce: true, max: 100 })),
      cursor: optional(str({ max: 200 })),
      status: optional(editable.status),
    });
    const limit = q.limit ?? 20;
    const rows = await prisma.ticket.findMany({
      where: { ...(q.status ? { status: q.status } : {}), ...after(decodeCursor(q.cursor), 'desc') },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      include: { _count: { select: { messages: true } } },
    });
    const { items, nextCursor } = page(rows, limit);
    res.json({ items: items.map(({ _count, ...t }) => ({ ...t, messageCount: _count.messages })), nextCursor });
  });

  router.get('/api/tickets/:id', async (req, res) => {
    const id = idParam(req.params.id);
    const ticket = await prisma.ticket.findUnique({
      where: { id },
      include: {
        author: { select: { id: true, name: true, role: true } },
        messages: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: 200 },
      },
    });
    if (!ticket) throw new NotFoundError('Ticket', id);
    res.json(ticket);
  });

  router.patch('/api/tickets/:id', async (req, res) => {
    const id = idParam(req.params.id);
    const data = parse(req.body, {
      title: optional(editable.title),
      body: optional(editable.body),
      status: optional(editable.status),
      priority: optional(editable.priority),
      channel: optional(editable.channel),
    });
    if (Object.keys(data).length === 0) {
      throw new HttpError(
        400,
        'validation',
        `Nothing to update: send at least one of ${Object.keys(editable).join(', ')}`,
        {
          fields: {},
        },
      );
    }
    res.json(await orNotFound('Ticket', id, prisma.ticket.update({ where: { id }, data })));
  });

  router.delete('/api/tickets/:id', async (req, res) => {
    const id = idParam(req.params.id);
    await orNotFound('Ticket', id, prisma.ticket.delete({ where: { id }, select: { id: true } }));
    res.status(204).end();
  });

  return router;
}
