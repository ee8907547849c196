import express, { Router } from 'express';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { HttpError, NotFoundError } from '../http-error.ts';
import type { JobRunner, JobView } from '../jobs.ts';
import { traceIdOf } from '../trace.ts';
import { idParam, int, parse, ValidationError } from '../validate.ts';
import { renderDashboard } from './dashboard.ts';
import { defined, formValues } from './form.ts';
import { html, raw, send } from './html.ts';
import { flash, layout } from './layout.ts';

const form = express.urlencoded({ extended: false, limit: '100kb' });

// The progress sheet polls the job's JSON until it is done, failed or sent. A failed poll shows
// the error and the request's trace id, and retries with backoff; the sheet recovers by itself.
const POLL_SCRIPT = `
(() => {
  const sheet = document.querySelector('[data-testid="progress-sheet"]');
  const $ = (id) => sheet.querySelector('[data-testid="' + id + '"]');
  const every = Number(sheet.dataset.pollMs) || 250;
  let delay = every;
  const render = (job) => {
    const bar = $('progress-bar');
    bar.setAttribute('aria-valuenow', String(job.processed));
    bar.setAttribute('aria-valuemax', String(job.total));
    bar.firstElementChild.style.width = job.percent + '%';
    $('progress-count').textContent = job.processed + ' / ' + job.total;
    $('job-status').textContent = job.status;
    $('review-send').hidden = !(job.status === 'done' || job.status === 'sent');
    $('job-error').hidden = job.status !== 'failed';
    $('job-error').textContent = job.error || '';
  };
  const problem = (message, traceId) => {
    $('progress-error').hidden = !message;
    $('progress-error-message').textContent = message || '';
    $('progress-error-trace').textContent = traceId || '';
  };
  const tick = async () => {
    try {
      const res = await fetch('/api/jobs/' + sheet.dataset.jobId, { headers: { accept: 'application/json' } });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        problem((body && body.error && body.error.message) || 'HTTP ' + res.status, (body && body.error && body.error.traceId) || res.headers.get('x-request-id'));
        delay = Math.min(delay * 2, 4000);
      } else {
        problem('');
        delay = every;
        render(body);
        if (body.status !== 'queued' && body.status !== 'running') return;
      }
    } catch (err) {
      problem('Lost the connection to the server; retrying…', '');
      delay = Math.min(delay * 2, 4000);
    }
    setTimeout(tick, delay);
  };
  if (sheet.dataset.status === 'queued' || sheet.dataset.status === 'running') setTimeout(tick, every);
})();
`;

function progressPage(job: JobView, pollMs: number) {
  const finished = job.status === 'done' || job.status === 'sent';
  return layout(
    `Run #${job.id}`,
    html`<h1>Triage run #${job.id}</h1>
<section data-testid="progress-sheet" data-job-id="${job.id}" data-status="${job.status}" data-poll-ms="${pollMs}">
<p>Run by ${job.agent.name} · status <span class="badge" data-testid="job-status">${job.status}</span></p>
<div role="progressbar" aria-label="Tickets triaged" data-testid="progress-bar" aria-valuemin="0" aria-valuemax="${job.total}" aria-valuenow="${job.processed}"><span style="width:${job.percent}%"></span></div>
<p><span data-testid="progress-count">${job.processed} / ${job.total}</span> open tickets triaged</p>
<p class="error" data-testid="job-error"${raw(job.status === 'failed' ? '' : ' hidden')}>${job.error}</p>
<div class="banner bad" role="alert" data-testid="progress-error" hidden><span data-testid="progress-error-message"></span> · reference <code data-testid="progress-error-trace"></code></div>
<a class="button" href="/jobs/${job.id}/review" data-testid="review-send"${raw(finished ? '' : ' hidden')}>Review &amp; send</a>
</section>`,
    html`<script>${raw(POLL_SCRIPT)}</script>`,
  );
}

async function reviewPage(prisma: PrismaClient, job: JobView, notice?: string) {
  const drafts = await prisma.jobDraft.findMany({
    where: { jobId: job.id },
    orderBy: { id: 'asc' },
    include: { ticket: { select: { id: true, title: true, priority: true } } },
  });
  let body = html``;
  if (job.status === 'queued' || job.status === 'running') {
    body = html`<p data-testid="review-not-ready">This run is still ${job.status} (${job.processed} / ${job.total}). <a href="/jobs/${job.id}">Watch its progress</a>.</p>`;
  } else if (job.status === 'failed') {
    body = html`<p class="error" data-testid="job-error">This run failed: ${job.error}</p>`;
  } else if (drafts.length === 0) {
    body = html`<div class="empty" data-testid="no-drafts">There were no open tickets to triage.</div>`;
  } else {
    body = html`<table data-testid="drafts"><thead><tr><th>Ticket</th><th>Priority</th><th>Reply</th></tr></thead><tbody>${drafts.map(
      (d) =>
        html`<tr data-testid="draft-row" data-ticket-id="${d.ticketId}"><td><a href="/tickets/${d.ticketId}">${d.ticket.title}</a></td><td><span class="badge" data-testid="draft-priority">${d.priority}</span></td><td data-testid="draft-body">${d.body}</td></tr>`,
    )}</tbody></table>
${
  job.status === 'sent'
    ? html`<div class="banner ok" data-testid="sent-banner">Sent ${drafts.filter((d) => d.messageId !== null).length} replies.</div>`
    : html`<form method="post" action="/jobs/${job.id}/send"><button type="submit" data-testid="send-replies">Send ${drafts.length} replies</button></form>`
}`;
  }
  return layout(
    `Review run #${job.id}`,
    html`<h1>Review run #${job.id}</h1>${flash(notice)}<section data-testid="review">${body}</section>`,
  );
}

/** The run pages: start from the dashboard, watch progress, review and send. */
export function jobPages(prisma: PrismaClient, runner: JobRunner, pollMs: number): Router {
  const router = Router();

  router.post('/jobs', form, async (req, res) => {
    const values = formValues(req.body, ['agentId']);
    try {
      const { agentId } = parse(defined(values), { agentId: int({ coerce: true }) }, 'form');
      const job = await runner.start(agentId, traceIdOf(res));
      res.redirect(303, `/jobs/${job.id}`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const fields = { ...err.fields };
      if (fields.agentId === 'is required') fields.agentId = 'is required: choose who the replies come from';
      await renderDashboard(prisma, res, 400, { agentId: values.agentId, message: 'The run was not started.', fields });
    }
  });

  router.get('/jobs/:id', async (req, res) => {
    send(res, 200, progressPage(await runner.view(idParam(req.params.id)), pollMs));
  });

  router.get('/jobs/:id/review', async (req, res) => {
    const job = await runner.view(idParam(req.params.id));
    send(
      res,
      200,
      await reviewPage(prisma, job, req.query.sent ? `Sent ${String(req.query.sent)} replies.` : undefined),
    );
  });

  router.post('/jobs/:id/send', form, async (req, res) => {
    const id = idParam(req.params.id);
    try {
      const { sent } = await runner.send(id);
      res.redirect(303, `/jobs/${id}/review?sent=${sent}`);
    } catch (err) {
      // Sent twice (double click, a second tab): show the run as it is, with the reason.
      if (err instanceof HttpError && err.status === 409 && !(err instanceof NotFoundError)) {
        const job = await runner.view(id);
        send(res, 409, await reviewPage(prisma, job, err.message));
        return;
      }
      throw err;
    }
  });

  return router;
}
