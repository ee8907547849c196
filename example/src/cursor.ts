import { ValidationError } from './validate.ts';

/** Keyset position: the last row's `(createdAt, id)`; ids break ties between equal timestamps. */
export interface Position {
  createdAt: Date;
  id: number;
}

/** Opaque `?cursor=` value for a position (base64url of `[iso, id]`). */
export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.createdAt.toISOString(), p.id])).toString('base64url');
}

/** Decodes `?cursor=`; a malformed value is a 400 on the `cursor` field. */
export function decodeCursor(value: unknown): Position | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    const [iso, id] = JSON.parse(Buffer.from(String(value), 'base64url').toString('utf8')) as [unknown, unknown];
    const createdAt = new Date(String(iso));
    if (
      typeof iso === 'string' &&
      !Number.isNaN(createdAt.getTime()) &&
      Number.isSafeInteger(id) &&
      (id as number) > 0
    ) {
      return { createdAt, id: id as number };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('Invalid query: cursor is not a value this API returned', {
    cursor: 'is not a value this API returned in nextCursor',
  });
}

/** Prisma `where` for rows after `p` in `(createdAt, id)` order, `desc` or `asc`. */
export function after(p: Position | undefined, direction: 'asc' | 'desc') {
  if (!p) return {};
  return direction === 'desc'
    ? { OR: [{ createdAt: { lt: p.createdAt } }, { createdAt: p.createdAt, id: { lt: p.id } }] }
    : { OR: [{ createdAt: { gt: p.createdAt } }, { createdAt: p.createdAt, id: { gt: p.id } }] };
}

/** Splits a `take: limit + 1` result into the page and the next cursor (null on the last page). */
export function page<T extends Position>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
