import type { ErrorRequestHandler, RequestHandler } from 'express';
import { Prisma } from './generated/prisma/client.ts';
import { traceIdOf } from './trace.ts';

/** An error that maps to an HTTP response: `{ error: { code, message, fields?, traceId } }`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { fields?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.fields = options.fields;
  }
}

/** 404 for a missing resource, naming it: `Ticket 42 not found`. */
export class NotFoundError extends HttpError {
  constructor(what: string, id: number | string) {
    super(404, 'not_found', `${what} ${id} not found`);
  }
}

/** Awaits `promise`; a Prisma "record not found" (P2025) becomes `NotFoundError(what, id)`. */
export async function orNotFound<T>(what: string, id: number, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025') throw new NotFoundError(what, id);
    throw err;
  }
}

/** Answers requests no route matched. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
};

/**
 * Turns thrown errors into JSON responses. Known errors (HttpError, Prisma P2002/P2003/P2025,
 * database unreachable, malformed JSON) keep their message; anything else is a 500 that says only "Internal server
 * error" and the trace id: the stack goes to the request log line, never to the client.
 */
export const errorHandler: ErrorRequestHandler = (err, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const http = toHttpError(err);
  if (http.status >= 500) res.locals.error = err;
  res.status(http.status).json({
    error: {
      code: http.code,
      message: http.message,
      ...(http.fields ? { fields: http.fields } : {}),
      traceId: traceIdOf(res),
    },
  });
};

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    const fields = constraintFields(err);
    switch (err.code) {
      case 'P2002':
        return new HttpError(
          409,
          'conflict',
          `${err.meta?.modelName ?? 'Record'} with this ${fields.join(', ') || 'value'} already exists`,
          {
            fields: Object.fromEntries(fields.map((f) => [f, 'is already taken'])),
            cause: err,
          },
        );
      case 'P2003':
        return new HttpError(
          400,
          'validation',
          `Invalid reference: ${fields.join(', ') || 'related record'} does not exist`,
          {
            fields: Object.fromEntries(fields.map((f) => [f, 'does not exist'])),
            cause: err,
          },
        );
      case 'P2025':
        return new HttpError(404, 'not_found', `${err.meta?.modelName ?? 'Record'} not found`, { cause: err });
      // Can't reach the server, connection timeout/closed, pool exhausted: retrying later may work.
      case 'P1001':
      case 'P1002':
      case 'P1017':
      case 'P2024':
        return new HttpError(503, 'unavailable', 'The database is unavailable; retry later', { cause: err });
    }
  }
  const e = err as { type?: unknown; status?: unknown } | null;
  if (e?.type === 'entity.parse.failed')
    return new HttpError(400, 'invalid_json', 'The request body is not valid JSON');
  if (e?.type === 'entity.too.large') return new HttpError(413, 'too_large', 'The request body is too large');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, 'bad_request', 'The request could not be processed');
  }
  return new HttpError(500, 'internal', 'Internal server error');
}

// Column names behind a constraint error. Prisma 7's driver adapters report the constraint
// (`users_email_key`, `tickets_authorId_fkey`) or its fields under meta.driverAdapterError;
// older engines used meta.target / meta.field_name.
function constraintFields(err: Prisma.PrismaClientKnownRequestError): string[] {
  const meta = (err.meta ?? {}) as {
    target?: unknown;
    field_name?: unknown;
    driverAdapterError?: { cause?: { constraint?: { fields?: unknown; index?: unknown } } };
  };
  const constraint = meta.driverAdapterError?.cause?.constraint;
  if (Array.isArray(constraint?.fields)) return constraint.fields.map(String);
  if (Array.isArray(meta.target)) return meta.target.map(String);
  const name =
    typeof constraint?.index === 'string'
      ? constraint.index
      : typeof meta.field_name === 'string'
        ? meta.field_name
        : '';
  const m = /^[^_]+_(.+)_(key|fkey)$/.exec(name.replace(/ \(index\)$/, ''));
  return m?.[1] ? m[1].split('_') : [];
}
