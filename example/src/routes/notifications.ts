import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { NotFoundError } from '../http-error.ts';
import { traceIdOf } from '../trace.ts';
import type { Notifier } from '../upstream.ts';
import { idParam, optional, parse, str } from '../validate.ts';

/**
 * `POST /api/tickets/:id/notify` `{text?}`: emails the ticket's author through the notification
 * provider (`UPSTREAM_URL`); 202 `{ticketId, to, providerId, attempts}`. 503 `upstream_unavailable`
 * with `Retry-After` while the provider is down or rate limiting; 502 `upstream_error` when it
 * rejects the message. With an `Idempotency-Key`, a retried request replays the first answer and
 * the provider sees the same key on every attempt, so the mail goes out once.
 */
export function notificationRoutes(prisma: PrismaClient, notifier: Notifier): Router {
  const router = Router();

  router.post('/api/tickets/:id/notify', async (req, res) => {
    const id = idParam(req.params.id);
    const { text } = parse(req.body ?? {}, { text: optional(str({ max: 5_000 })) });
    const ticket = await prisma.ticket.findUnique({
      where: { id },
      select: { id: true, title: true, status: true, author: { select: { email: true, name: true } } },
    });
    if (!ticket) throw new NotFoundError('Ticket', id);
    const key = req.get('Idempotency-Key');
    const sent = await notifier.send({
      to: ticket.author.email,
      subject: `[#${ticket.id}] ${ticket.title}`,
      text: text ?? `Hi ${ticket.author.name}, your ticket "${ticket.title}" is now ${ticket.status}.`,
      idempotencyKey: key ? `notify:${key}` : `notify:${randomUUID()}`,
      traceId: traceIdOf(res),
    });
    res
      .status(202)
      .json({ ticketId: ticket.id, to: ticket.author.email, providerId: sent.id, attempts: sent.attempts });
  });

  return router;
}
