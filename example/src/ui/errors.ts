import type { ErrorRequestHandler } from 'express';
import { Prisma } from '../generated/prisma/client.ts';
import { HttpError } from '../http-error.ts';
import { traceIdOf } from '../trace.ts';
import { html, send } from './html.ts';
import { layout } from './layout.ts';

/** What a page shows for an error: known errors keep their message, anything else is a generic 500. */
function pageFor(err: unknown): { status: number; title: string; message: string } {
  if (err instanceof HttpError) {
    const title = err.status === 404 ? 'Not found' : err.status === 409 ? 'Conflict' : 'Request failed';
    return { status: err.status, title, message: err.message };
  }
  if (err instanceof Prisma.PrismaClientKnownRequestError && ['P1001', 'P1002', 'P1017', 'P2024'].includes(err.code)) {
    return {
      status: 503,
      title: 'Service unavailable',
      message: 'The database is unavailable; please retry in a moment.',
    };
  }
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, title: 'Request failed', message: 'The request could not be processed.' };
  }
  return {
    status: 500,
    title: 'Something went wrong',
    message: 'Something went wrong on our side. Nothing you did caused it.',
  };
}

/**
 * Error pages for the UI routes: the status, a message that never includes a stack, and the
 * request's trace id to quote to support (the stack goes to the request's log line).
 */
export const uiErrorHandler: ErrorRequestHandler = (err, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const { status, title, message } = pageFor(err);
  if (status >= 500) res.locals.error = err;
  const traceId = traceIdOf(res);
  send(
    res,
    status,
    layout(
      title,
      html`<section data-testid="${status === 404 ? 'not-found' : 'error-page'}" role="alert">
<h1 data-testid="error-title">${title}</h1>
<p data-testid="error-message">${message}</p>
<p class="muted">Error <span data-testid="error-status">${status}</span> · reference <code data-testid="error-trace-id">${traceId}</code></p>
<a class="button" href="/" data-testid="error-home">Back to the dashboard</a>
</section>`,
    ),
  );
};
