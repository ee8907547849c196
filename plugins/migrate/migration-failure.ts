/**
 * Turns a failed migration script into a message that names the file, the failing statement and
 * the Postgres error. The statement comes from Postgres' error position when there is one, and
 * otherwise from replaying the script one statement at a time inside a transaction that is
 * always rolled back (see `replayToFindFailingStatement`). `describeApplyError` says the same of
 * any error a migrator throws: the migration, the SQLSTATE, or what refused it before it ran.
 */
import path from 'node:path';
import type { Client, DatabaseError } from 'pg';
import { describeError, MigrationError, ShipgateError } from '../core/errors.ts';
import { asDatabaseError } from './prisma-history.ts';
import {
  isTransactionControl,
  lineAt,
  offsetOfPosition,
  type SqlStatement,
  splitSqlStatements,
  statementAt,
} from './sql-split.ts';

/** How the failing statement was found, or why it could not be. */
export type StatementLocation =
  | { found: true; statement: SqlStatement; of: number; how: 'position' | 'replay' | 'single'; errorLine?: number }
  | { found: false; of: number; why: string };

/** The Postgres error fields a report needs. */
export interface PostgresErrorInfo {
  code: string | undefined;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
  where?: string | undefined;
  position?: number | undefined;
}

/** A migration script failed. `code` is `SHIPGATE_MIGRATION_FAILED`. */
export class MigrationFailedError extends MigrationError {
  readonly migration: string;
  readonly file: string;
  readonly location: StatementLocation;
  readonly postgres: PostgresErrorInfo;

  constructor(
    init: {
      migration: string;
      file: string;
      location: StatementLocation;
      postgres: PostgresErrorInfo;
      recorded: boolean;
    },
    options: { cause: unknown },
  ) {
    super('SHIPGATE_MIGRATION_FAILED', formatFailure(init), {
      cause: options.cause,
      hint: `Fix: correct the statement in ${init.file}; the database is left as Prisma leaves it${init.recorded ? ' (row in _prisma_migrations with finished_at null, so the next run stops with P3009)' : ''}.`,
    });
    this.migration = init.migration;
    this.file = init.file;
    this.location = init.location;
    this.postgres = init.postgres;
  }
}

/** Reads the fields shipgate reports from a node-postgres error (or any error). */
export function postgresErrorInfo(error: unknown): PostgresErrorInfo {
  const db: DatabaseError | undefined = asDatabaseError(error);
  if (!db) return { code: undefined, message: error instanceof Error ? error.message : String(error) };
  return {
    code: db.code,
    message: db.message,
    detail: db.detail,
    hint: db.hint,
    where: db.where,
    position: db.position === undefined ? undefined : Number(db.position),
  };
}

/** Finds the failing statement without touching the database: by position, or because there is only one. */
export function locateByPosition(script: string, error: PostgresErrorInfo): StatementLocation {
  const statements = splitSqlStatements(script);
  const of = statements.length;
  if (error.position !== undefined) {
    const offset = offsetOfPosition(script, error.position);
    const statement = statementAt(statements, offset);
    if (statement) return { found: true, statement, of, how: 'position', errorLine: lineAt(script, offset) };
  }
  if (of === 1) return { found: true, statement: statements[0] as SqlStatement, of, how: 'single' };
  if (of === 0) return { found: false, of, why: 'the file has no statements' };
  return { found: false, of, why: 'Postgres reported no error position' };
}

/**
 * Replays `script` statement by statement to find the first one that fails. Safe because:
 * - it runs only after the whole script failed as one simple-protocol query, i.e. as one implicit
 *   transaction that Postgres rolled back, so the database is as it was before the file;
 * - the replay runs between BEGIN and ROLLBACK and never commits; it is refused when the script
 *   itself contains transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT…), which would both have
 *   let the original run commit part of the file and let the replay escape its transaction.
 *   (Procedures and DO blocks cannot COMMIT inside an explicit transaction block: they error.)
 * What it cannot undo is what no transaction undoes (sequence increments, dblink writes); the
 * original run had the same effects, and the database is a throwaway migration target.
 * Statements run in the same session, so SET/search_path changes made earlier in the file apply,
 * as they did in the original run.
 */
export async function replayToFindFailingStatement(client: Client, script: string): Promise<StatementLocation> {
  const statements = splitSqlStatements(script);
  const of = statements.length;
  const control = statements.find(isTransactionControl);
  if (control) {
    return {
      found: false,
      of,
      why: `not replayed, because the file has transaction control at line ${control.line} (${firstWords(control.text)})`,
    };
  }
  await client.query('BEGIN');
  try {
    for (const statement of statements) {
      try {
        await client.query(statement.text);
      } catch {
        return { found: true, statement, of, how: 'replay' };
      }
    }
    return {
      found: false,
      of,
      why: 'replaying the statements one by one did not fail (the error depends on other sessions or timing)',
    };
  } finally {
    // A broken connection fails here too; the caller reports the original error either way.
    await client.query('ROLLBACK').catch(() => {});
  }
}

const firstWords = (text: string) => text.split(/\s+/).slice(0, 3).join(' ');

/** `"…"` excerpt of a statement, first `max` characters, with the original line breaks indented. */
export function excerpt(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max).trimEnd()} …` : text;
  return cut.replace(/\r?\n/g, '\n    ');
}

function formatFailure(init: {
  migration: string;
  file: string;
  location: StatementLocation;
  postgres: PostgresErrorInfo;
}): string {
  const { migration, file, location, postgres } = init;
  const rel = path.relative(process.cwd(), file) || file;
  const lines: string[] = [];
  if (location.found) {
    const { statement, of } = location;
    const at =
      location.errorLine !== undefined && location.errorLine !== statement.line
        ? `, error at line ${location.errorLine}`
        : '';
    lines.push(
      `Migration "${migration}" failed at ${rel}:${statement.line} (statement ${statement.index + 1} of ${of}${at}; found by ${describeHow(location.how)}):`,
      `    ${excerpt(statement.text)}`,
    );
  } else {
    lines.push(
      `Migration "${migration}" failed in ${rel} (${location.of} statements; failing statement unknown: ${location.why}).`,
    );
  }
  const pgLine = postgres.code ? `Postgres error ${postgres.code}: ${postgres.message}` : `Error: ${postgres.message}`;
  lines.push(pgLine);
  if (postgres.detail) lines.push(`  DETAIL: ${postgres.detail}`);
  if (postgres.hint) lines.push(`  HINT: ${postgres.hint}`);
  if (postgres.where) lines.push(`  CONTEXT: ${postgres.where.replace(/\n/g, '\n    ')}`);
  return `${lines.join('\n')}\n`;
}

function describeHow(how: 'position' | 'replay' | 'single'): string {
  if (how === 'position') return "Postgres' error position";
  if (how === 'replay') return 'replaying the file statement by statement, rolled back';
  return 'being the only statement';
}

/** What an apply error says, for a report: which migration, its SQLSTATE, or what refused it. */
export interface ApplyErrorInfo {
  /** The migration folder, when the error names one (or `pending`, the one that was next). */
  migration: string | undefined;
  /** Postgres' SQLSTATE, when Postgres raised it. */
  sqlstate: string | undefined;
  /** Set when nothing of the migration ran: what refused it, with its code (`prisma-sql (SHIPGATE_MIGRATION_FILE_MISSING, Prisma P3015)`). */
  refusedBy?: string;
  /** Set when the migration ran and failed with an error that is not Postgres' (a lost connection, a client error). */
  notPostgres?: true;
  /** One line: the error's own words. */
  message: string;
}

const firstLine = (text: string) =>
  text
    .split('\n')
    .find((l) => l.trim())
    ?.trim() ?? '';

/**
 * Describes any error a migrator throws. `migrator` names who refuses a migration before it runs
 * (e.g. `prisma-sql`); `pending` is the migration that was next, for errors that name none.
 */
export function describeApplyError(err: unknown, migrator: string, pending?: string): ApplyErrorInfo {
  if (err instanceof MigrationFailedError) {
    const { code, message } = err.postgres;
    return code
      ? { migration: err.migration, sqlstate: code, message }
      : { migration: err.migration, sqlstate: undefined, notPostgres: true, message };
  }
  const db = asDatabaseError(err);
  if (db) return { migration: pending, sqlstate: db.code, message: db.message };
  // A ShipgateError's message is already redacted; describeError would repeat its code, which refusedBy names.
  const text = err instanceof ShipgateError ? err.message : describeError(err);
  // `prisma migrate deploy` prints Prisma's error: `Error: P3018 …`, `Migration name: …`, `Database error code: …`.
  const prismaCode = /\b(P\d{4})\b/.exec(text)?.[1];
  const folder = /Migration (?:folder )?"([^"/\\]+)"/.exec(text)?.[1];
  const migration = /Migration name: (\S+)/.exec(text)?.[1] ?? pending ?? folder;
  const reported = /Database error code: (\w+)/.exec(text)?.[1];
  if (reported && reported !== 'none') return { migration, sqlstate: reported, message: firstLine(text) };
  const codes = [err instanceof ShipgateError ? err.code : undefined, prismaCode ? `Prisma ${prismaCode}` : undefined]
    .filter(Boolean)
    .join(', ');
  // A cancelled run was stopped, not refused.
  const cancelled = err instanceof ShipgateError && err.code === 'SHIPGATE_MIGRATION_ABORTED';
  if ((err instanceof ShipgateError && !cancelled) || prismaCode) {
    return {
      migration,
      sqlstate: undefined,
      refusedBy: `${migrator}${codes ? ` (${codes})` : ''}`,
      message: firstLine(text),
    };
  }
  return { migration, sqlstate: undefined, notPostgres: true, message: firstLine(text) };
}
