import { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { int, optional, parseQuery, str } from '../validate.ts';

/** One ranked hit of `GET /api/search`. */
export interface SearchHit {
  ticketId: number;
  title: string;
  status: string;
  priority: string;
  rank: number;
  /** True when the ticket's own title/body matched. */
  inTicket: boolean;
  /** How many of the ticket's messages matched. */
  messageHits: number;
  /** Excerpt with matches wrapped in `<b>…</b>`: of the ticket when it matched, else of its best message. */
  snippet: string;
}

/**
 * `GET /api/search?q=&limit=`: full-text search over tickets and their messages, using the
 * generated `search` tsvector columns (GIN-indexed) and `websearch_to_tsquery`, so users can
 * type `refund -duplicate "credit card"`. A ticket's rank adds its own match (title weighs
 * more than body) to half its best message match. ts_rank_cd rather than ts_rank: ts_rank
 * scores any query with a negation (`-duplicate`) as ~1e-20; normalisation 32 maps to 0..1.
 */
export function searchRoutes(prisma: PrismaClient): Router {
  const router = Router();
  router.get('/api/search', async (req, res) => {
    const { q, limit = 20 } = parseQuery(req.query, {
      q: str({ max: 200 }),
      limit: optional(int({ coerce: true, max: 50 })),
    });
    // ts_headline is expensive (it re-parses the text), so it runs on the final page only.
    const results = await prisma.$queryRaw<SearchHit[]>`
      WITH query AS (SELECT websearch_to_tsquery('english', ${q}) AS tsq),
      ticket_hits AS (
        SELECT t."id" AS "ticketId", ts_rank_cd(t."search", query.tsq, 32) AS rank
        FROM "tickets" t, query
        WHERE t."search" @@ query.tsq
      ),
      message_hits AS (
        SELECT m."ticketId", max(ts_rank_cd(m."search", query.tsq, 32)) * 0.5 AS rank, count(*) AS hits
        FROM "messages" m, query
        WHERE m."search" @@ query.tsq
        GROUP BY m."ticketId"
      ),
      ranked AS (
        SELECT coalesce(th."ticketId", mh."ticketId") AS "ticketId",
               coalesce(th.rank, 0) + coalesce(mh.rank, 0) AS rank,
               th."ticketId" IS NOT NULL AS "inTicket",
               coalesce(mh.hits, 0) AS "messageHits"
        FROM ticket_hits th
        FULL OUTER JOIN message_hits mh ON mh."ticketId" = th."ticketId"
        ORDER BY rank DESC, "ticketId" DESC
        LIMIT ${limit}
      )
      SELECT r."ticketId", t."title", t."status"::text AS status, t."priority"::text AS priority,
             r.rank::float8 AS rank, r."inTicket", r."messageHits"::int AS "messageHits",
             ts_headline('english', CASE WHEN r."inTicket" THEN t."title" || ' | ' || t."body" ELSE best."body" END,
                         query.tsq, 'MaxWords=30, MinWords=12') AS snippet
      FROM ranked r
      JOIN "tickets" t ON t."id" = r."ticketId"
      CROSS JOIN query
      LEFT JOIN LATERAL (
        SELECT m."body" FROM "messages" m
        WHERE m."ticketId" = r."ticketId" AND m."search" @@ query.tsq
        ORDER BY ts_rank_cd(m."search", query.tsq, 32) DESC, m."id"
        LIMIT 1
      ) best ON NOT r."inTicket"
      ORDER BY r.rank DESC, r."ticketId" DESC`;
    res.json({ q, results });
  });
  return router;
}
