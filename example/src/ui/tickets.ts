import express, { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { NotFoundError } from '../http-error.ts';
import { PRIORITIES, STATUSES } from '../routes/tickets.ts';
import { type FieldErrors, idParam, int, oneOf, optional, parse, str, ValidationError } from '../validate.ts';
import { defined, formValues } from './form.ts';
import { html, type SafeHtml, selected, send } from './html.ts';
import { fieldError, flash, formError, layout } from './layout.ts';

const form = express.urlencoded({ extended: false, limit: '100kb' });

const FIELDS = ['authorId', 'title', 'body', 'priority', 'status'] as const;
type Values = Partial<Record<(typeof FIELDS)[number], string>>;

interface Row {
  id: number;
  title: string;
  status: string;
  priority: string;
  createdAt: Date;
}

/** The ticket form, for create (with an author) and edit (with a status). */
async function ticketForm(
  prisma: PrismaClient,
  opts: { action: string; values: Values; fields?: FieldErrors; message?: string; mode: 'create' | 'edit' },
): Promise<SafeHtml> {
  const { values, fields = {} } = opts;
  const authors =
    opts.mode === 'create'
      ? await prisma.user.findMany({
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
          take: 200,
          select: { id: true, name: true },
        })
      : [];
  return html`<form method="post" action="${opts.action}" data-testid="ticket-form" novalidate>
${formError(opts.message)}
${
  opts.mode === 'create'
    ? html`<label for="authorId">Customer</label>
<select id="authorId" name="authorId" data-testid="field-authorId"><option value="">Choose…</option>${authors.map(
        (u) => html`<option value="${u.id}"${selected(u.id, values.authorId)}>${u.name}</option>`,
      )}</select>${fieldError(fields, 'authorId')}`
    : html``
}
<label for="title">Title</label>
<input id="title" name="title" maxlength="250" value="${values.title ?? ''}" data-testid="field-title">${fieldError(fields, 'title')}
<label for="body">Description</label>
<textarea id="body" name="body" data-testid="field-body">${values.body ?? ''}</textarea>${fieldError(fields, 'body')}
<label for="priority">Priority</label>
<select id="priority" name="priority" data-testid="field-priority">${PRIORITIES.map(
    (p) => html`<option value="${p}"${selected(p, values.priority ?? 'normal')}>${p}</option>`,
  )}</select>${fieldError(fields, 'priority')}
${
  opts.mode === 'edit'
    ? html`<label for="status">Status</label>
<select id="status" name="status" data-testid="field-status">${STATUSES.map(
        (s) => html`<option value="${s}"${selected(s, values.status)}>${s}</option>`,
      )}</select>${fieldError(fields, 'status')}`
    : html``
}
<button type="submit" data-testid="save-ticket">${opts.mode === 'create' ? 'Create ticket' : 'Save changes'}</button>
</form>`;
}

function problems(err: ValidationError): string {
  const n = Object.keys(err.fields ?? {}).length;
  return `The ticket was not saved: ${n} field${n === 1 ? ' needs' : 's need'} attention.`;
}

// Full-text search over the tickets' generated `search` column, as GET /api/search does.
async function search(prisma: PrismaClient, q: string): Promise<Row[]> {
  return prisma.$queryRaw<Row[]>`
    SELECT t."id", t."title", t."status"::text AS status, t."priority"::text AS priority, t."createdAt"
    FROM "tickets" t, websearch_to_tsquery('english', ${q}) AS query
    WHERE t."search" @@ query
    ORDER BY ts_rank_cd(t."search", query, 32) DESC, t."id" DESC
    LIMIT 50`;
}

/** Ticket pages: list and search, create, read, edit, delete. */
export function ticketPages(prisma: PrismaClient): Router {
  const router = Router();

  router.get('/tickets', async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 200) : '';
    const rows: Row[] = q
      ? await search(prisma, q)
      : await prisma.ticket.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 50 });
    const total = q ? undefined : await prisma.ticket.count();
    const notice =
      typeof req.query.deleted === 'string' ? `Deleted ticket "${req.query.deleted.slice(0, 200)}".` : undefined;
    let list: SafeHtml;
    if (total === 0) {
      list = html`<div class="empty" data-testid="empty-state"><p>No tickets yet.</p><a class="button" href="/tickets/new">Create the first ticket</a></div>`;
    } else if (rows.length === 0) {
      list = html`<div class="empty" data-testid="no-results">No tickets match “${q}”.</div>`;
    } else {
      list = html`<p class="muted" data-testid="result-count">${rows.length} ticket${rows.length === 1 ? '' : 's'}${q ? html` matching “${q}”` : ''}</p>
<table><tbody>${rows.map(
        (t) =>
          html`<tr data-testid="ticket-row" data-ticket-id="${t.id}"><td><a href="/tickets/${t.id}" data-testid="ticket-link">${t.title}</a></td><td><span class="badge">${t.status}</span></td><td><span class="badge">${t.priority}</span></td></tr>`,
      )}</tbody></table>`;
    }
    send(
      res,
      200,
      layout(
        'Tickets',
        html`<h1>Tickets</h1>${flash(notice)}
<section><form method="get" action="/tickets" class="inline" role="search">
<div style="flex:1"><label for="q">Search</label><input id="q" name="q" type="search" value="${q}" placeholder="refund -duplicate &quot;credit card&quot;" data-testid="ticket-search"></div>
<button type="submit" data-testid="search-submit">Search</button>
<a class="button" href="/tickets/new" data-testid="new-ticket">New ticket</a>
</form></section>
<section data-testid="tickets">${list}</section>`,
      ),
    );
  });

  router.get('/tickets/new', async (_req, res) => {
    send(
      res,
      200,
      layout(
        'New ticket',
        html`<h1>New ticket</h1><section>${await ticketForm(prisma, { action: '/tickets', values: {}, mode: 'create' })}</section>`,
      ),
    );
  });

  router.post('/tickets', form, async (req, res) => {
    const values = formValues(req.body, FIELDS);
    try {
      const data = parse(
        defined({ ...values, status: undefined }),
        {
          authorId: int({ coerce: true }),
          title: str({ max: 200 }),
          body: str({ max: 20_000 }),
          priority: oneOf(PRIORITIES),
        },
        'form',
      );
      const author = await prisma.user.findUnique({ where: { id: data.authorId }, select: { id: true } });
      if (!author) throw new ValidationError('Invalid form: authorId does not exist', { authorId: 'does not exist' });
      const ticket = await prisma.ticket.create({ data: { ...data, channel: 'web' } });
      res.redirect(303, `/tickets/${ticket.id}?created=1`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const body = await ticketForm(prisma, {
        action: '/tickets',
        values,
        fields: err.fields,
        message: problems(err),
        mode: 'create',
      });
      send(res, 400, layout('New ticket', html`<h1>New ticket</h1><section>${body}</section>`));
    }
  });

  router.get('/tickets/:id', async (req, res) => {
    const id = idParam(req.params.id);
    const ticket = await prisma.ticket.findUnique({
      where: { id },
      include: {
        author: { select: { name: true } },
        messages: {
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
          take: 200,
          include: { author: { select: { name: true } } },
        },
      },
    });
    if (!ticket) throw new NotFoundError('Ticket', id);
    const notice = req.query.created ? 'Ticket created.' : req.query.saved ? 'Changes saved.' : undefined;
    const edit = await ticketForm(prisma, {
      action: `/tickets/${id}`,
      values: { ...ticket, authorId: String(ticket.authorId) },
      mode: 'edit',
    });
    send(
      res,
      200,
      layout(
        ticket.title,
        html`<h1 data-testid="ticket-title">${ticket.title}</h1>${flash(notice)}
<section data-testid="ticket-detail">
<p>From ${ticket.author.name} · <span class="badge" data-testid="ticket-status">${ticket.status}</span> <span class="badge" data-testid="ticket-priority">${ticket.priority}</span></p>
<p data-testid="ticket-body">${ticket.body}</p>
${ticket.messages.length === 0 ? html`<p class="muted" data-testid="no-messages">No replies yet.</p>` : html`<table><tbody>${ticket.messages.map((m) => html`<tr data-testid="message-row"><td><b>${m.author.name}</b></td><td>${m.body}</td></tr>`)}</tbody></table>`}
</section>
<section><h2>Edit</h2>${edit}</section>
<section><form method="post" action="/tickets/${id}/delete"><button class="danger" type="submit" data-testid="delete-ticket">Delete ticket</button></form></section>`,
      ),
    );
  });

  router.post('/tickets/:id', form, async (req, res) => {
    const id = idParam(req.params.id);
    const values = formValues(req.body, FIELDS);
    try {
      const data = parse(
        defined({ ...values, authorId: undefined }),
        {
          title: str({ max: 200 }),
          body: str({ max: 20_000 }),
          priority: oneOf(PRIORITIES),
          status: optional(oneOf(STATUSES)),
        },
        'form',
      );
      const updated = await prisma.ticket.updateMany({ where: { id }, data });
      if (updated.count === 0) throw new NotFoundError('Ticket', id);
      res.redirect(303, `/tickets/${id}?saved=1`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const body = await ticketForm(prisma, {
        action: `/tickets/${id}`,
        values,
        fields: err.fields,
        message: problems(err),
        mode: 'edit',
      });
      send(res, 400, layout('Edit ticket', html`<h1>Edit ticket #${id}</h1><section>${body}</section>`));
    }
  });

  router.post('/tickets/:id/delete', form, async (req, res) => {
    const id = idParam(req.params.id);
    const ticket = await prisma.ticket.findUnique({ where: { id }, select: { title: true } });
    if (!ticket) throw new NotFoundError('Ticket', id);
    await prisma.ticket.delete({ where: { id } });
    res.redirect(303, `/tickets?deleted=${encodeURIComponent(ticket.title)}`);
  });

  return router;
}
