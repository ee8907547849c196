import type { Response } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { html, selected, send } from './html.ts';
import { fieldError, flash, formError, layout } from './layout.ts';

const STATUSES = ['open', 'pending', 'resolved', 'closed'] as const;

/** State of the one-touch form when it comes back with errors. */
export interface OneTouchForm {
  agentId?: string;
  message?: string;
  fields?: Record<string, string>;
}

/**
 * `GET /`: ticket counts by status, the newest tickets (or the empty state), the one-touch
 * triage run (pick an agent, press the button) and the newest runs.
 */
export async function renderDashboard(
  prisma: PrismaClient,
  res: Response,
  status = 200,
  form: OneTouchForm = {},
  notice?: string,
): Promise<void> {
  const [counts, recent, agents, jobs] = await Promise.all([
    prisma.ticket.groupBy({ by: ['status'], _count: { _all: true } }),
    prisma.ticket.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 5 }),
    prisma.user.findMany({
      where: { role: { in: ['agent', 'admin'] } },
      orderBy: [{ name: 'asc' }, { id: 'asc' }],
      take: 100,
    }),
    prisma.job.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 5,
      include: { agent: { select: { name: true } } },
    }),
  ]);
  const count = (s: string) => counts.find((c) => c.status === s)?._count._all ?? 0;
  const total = counts.reduce((sum, c) => sum + c._count._all, 0);
  const fields = form.fields ?? {};

  const tickets =
    total === 0
      ? html`<div class="empty" data-testid="empty-state"><p>No tickets yet.</p><a class="button" href="/tickets/new" data-testid="empty-new-ticket">Create the first ticket</a></div>`
      : html`<table data-testid="recent-tickets"><tbody>${recent.map(
          (t) =>
            html`<tr data-testid="ticket-row"><td><a href="/tickets/${t.id}">${t.title}</a></td><td><span class="badge">${t.status}</span></td><td><span class="badge">${t.priority}</span></td></tr>`,
        )}</tbody></table>`;

  const oneTouch =
    agents.length === 0
      ? html`<p class="muted" data-testid="no-agents">A triage run needs an agent; none exists yet.</p>`
      : html`<form method="post" action="/jobs" data-testid="one-touch-form" novalidate>
${formError(form.message)}
<label for="agentId">Run as</label>
<select id="agentId" name="agentId" data-testid="agent-select">
<option value="">Choose an agent…</option>
${agents.map((a) => html`<option value="${a.id}"${selected(a.id, form.agentId)}>${a.name} (${a.role})</option>`)}
</select>
${fieldError(fields, 'agentId')}
<button type="submit" data-testid="one-touch-btn">One-touch triage run</button>
<p class="muted">Drafts a priority and a reply for each of the ${count('open')} open tickets, for you to review and send.</p>
</form>`;

  const runs =
    jobs.length === 0
      ? html`<p class="muted" data-testid="no-jobs">No runs yet.</p>`
      : html`<table data-testid="recent-jobs"><tbody>${jobs.map(
          (j) =>
            html`<tr data-testid="job-row"><td><a href="/jobs/${j.id}">Run #${j.id}</a></td><td>${j.agent.name}</td><td><span class="badge" data-testid="job-row-status">${j.status}</span></td><td>${j.processed} / ${j.total}</td></tr>`,
        )}</tbody></table>`;

  send(
    res,
    status,
    layout(
      'Dashboard',
      html`<h1>Dashboard</h1>
${flash(notice)}
<section class="stats" data-testid="dashboard">
${STATUSES.map((s) => html`<div class="stat"><b data-testid="stat-${s}">${count(s)}</b>${s}</div>`)}
</section>
<section><h2>One-touch triage</h2>${oneTouch}</section>
<section><h2>Newest tickets</h2>${tickets}</section>
<section><h2>Runs</h2>${runs}</section>`,
    ),
  );
}
