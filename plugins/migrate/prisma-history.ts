/**
 * Prisma's migration history table, written the way Prisma's schema engine writes it. Sources
 * (prisma/prisma-engines, schema-engine/):
 * - connectors/sql-schema-connector/src/flavour/postgres.rs: `create_migrations_table` (DDL below),
 *   `acquire_lock` (`SELECT pg_advisory_lock(72707369)`, 10 s timeout), `table_names`.
 * - connectors/sql-schema-connector/src/sql_migration_persistence.rs: `initialize`,
 *   `record_migration_started_impl`, `record_successful_step`, `record_failed_step`,
 *   `record_migration_finished` (one autocommitted statement each; timestamps from the client clock).
 * - connectors/schema-connector/src/checksum.rs: sha256 hex of the script string; comparison also
 *   accepts the CRLF→LF and LF→CRLF variants and old non-zero-padded hex.
 * - connectors/sql-schema-connector/src/flavour/postgres/connection.rs: `apply_migration_script`
 *   (one simple-protocol query) and the P3018 log text built from the Postgres error.
 * - core/src/commands/apply_migrations.rs: the order of all of the above and P3009.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Client, DatabaseError } from 'pg';
import { MigrationError } from '../core/errors.ts';

/** Prisma's advisory lock key for Migrate on Postgres (flavour/postgres.rs). */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

/** Prisma's wait for the advisory lock before it gives up (`ADVISORY_LOCK_TIMEOUT`). */
export const PRISMA_LOCK_TIMEOUT_MS = 10_000;

/** `create_migrations_table` for Postgres, verbatim after `indoc!`. */
export const PRISMA_MIGRATIONS_DDL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

/** A `_prisma_migrations` row. Timestamps as Postgres text in UTC, to keep microseconds. */
export interface MigrationRecord {
  id: string;
  checksum: string;
  finished_at: string | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: string | null;
  started_at: string;
  applied_steps_count: number;
}

/** PostGIS tables that do not make a schema "not empty" (POSTGIS_TABLES_OR_VIEWS in the engine). */
const IGNORED_TABLES = /^(spatial_ref_sys|geometry_columns|geography_columns|raster_columns|raster_overviews)$/i;

/** Sha256 hex of the script, as `render_checksum`. */
export function renderChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

/** `script_matches_checksum`: line endings and Prisma's old unpadded hex do not count as edits. */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((v) => {
    const digest = createHash('sha256').update(v, 'utf8').digest();
    const rendered =
      checksum.length !== 0 && checksum.length !== 64
        ? [...digest].map((b) => b.toString(16)).join('')
        : digest.toString('hex');
    return rendered === checksum;
  });
}

/** Client-clock UTC timestamp with microseconds, like `chrono::Utc::now()`; monotonic within a process. */
export function nowTimestamp(): string {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.floor((ms - whole) * 1000));
  return `${new Date(whole).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Creates the connection's schema when it is missing, as the engine's `setup_connection` does
 * (with IF NOT EXISTS, so two runs racing to create it do not fail).
 */
export async function ensureSchema(client: Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ exists: boolean }>(
    'SELECT EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists',
    [schema],
  );
  if (!rows[0]?.exists) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
}

/**
 * `initialize`: keep an existing history table; on a schema with other tables refuse like P3005
 * (Prisma will not guess which migrations produced them); otherwise create the table.
 */
export async function initializeHistory(client: Client, schema: string, dbLabel: string): Promise<void> {
  const { rows } = await client.query<{ table_name: string }>(
    `SELECT tbl.relname AS table_name
		 FROM pg_class AS tbl
		 INNER JOIN pg_namespace AS namespace ON namespace.oid = tbl.relnamespace
		 WHERE tbl.relkind = 'r' AND namespace.nspname = ANY ($1)`,
    [[schema]],
  );
  const names = rows.map((r) => r.table_name);
  if (names.includes('_prisma_migrations')) return;
  const others = names.filter((n) => !IGNORED_TABLES.test(n)).sort();
  if (others.length > 0) {
    const shown = others.slice(0, 10).join(', ') + (others.length > 10 ? `, … (${others.length} tables)` : '');
    throw new MigrationError(
      'SHIPGATE_SCHEMA_NOT_EMPTY',
      `Database ${dbLabel} schema "${schema}" is not empty (tables: ${shown}) and has no _prisma_migrations table, so the migration history cannot be applied (Prisma P3005).`,
      { hint: 'Migrate into an empty database, or baseline it with `prisma migrate resolve --applied <migration>`.' },
    );
  }
  await client.query(PRISMA_MIGRATIONS_DDL);
}

/** `list_migrations`: every row, oldest first. */
export async function listMigrationRecords(client: Client): Promise<MigrationRecord[]> {
  const { rows } = await client.query<MigrationRecord>(
    `SELECT "id", "checksum", "finished_at"::text, "migration_name", "logs", "rolled_back_at"::text,
		        "started_at"::text, "applied_steps_count"
		 FROM "_prisma_migrations" ORDER BY "started_at" ASC`,
  );
  return rows;
}

/** `record_migration_started`: inserts the row (no finished_at, no logs) and returns its uuid v4 id. */
export async function recordMigrationStarted(client: Client, name: string, script: string): Promise<string> {
  const id = randomUUID();
  await client.query(
    'INSERT INTO "_prisma_migrations" ("id", "checksum", "started_at", "migration_name") VALUES ($1, $2, $3, $4)',
    [id, renderChecksum(script), nowTimestamp(), name],
  );
  return id;
}

/** `record_successful_step`: the whole script is one step, so a applied migration ends with 1. */
export async function recordSuccessfulStep(client: Client, id: string): Promise<void> {
  await client.query(
    'UPDATE "_prisma_migrations" SET "applied_steps_count" = ("applied_steps_count" + $1) WHERE "id" = $2',
    [1, id],
  );
}

/** `record_migration_finished`. */
export async function recordMigrationFinished(client: Client, id: string): Promise<void> {
  await client.query('UPDATE "_prisma_migrations" SET "finished_at" = $1 WHERE "id" = $2', [nowTimestamp(), id]);
}

/** `record_failed_step`: logs only; finished_at stays null, which is what marks the row failed. */
export async function recordFailedStep(client: Client, id: string, logs: string): Promise<void> {
  await client.query('UPDATE "_prisma_migrations" SET "logs" = $1 WHERE "id" = $2', [logs, id]);
}

/** Rows that block further migrations (P3009): started, never finished, not rolled back. */
export function failedRecords(records: readonly MigrationRecord[]): MigrationRecord[] {
  return records.filter((r) => r.finished_at === null && r.rolled_back_at === null);
}

/** P3009's text, from `detect_failed_migrations`. */
export function formatFoundFailedMigrations(failed: readonly MigrationRecord[]): string {
  const details = failed
    .map((m) => {
      const logs = m.logs?.trim() ? ` with the following logs:\n${m.logs.trim()}` : '';
      return `The \`${m.migration_name}\` migration started at ${chronoUtc(m.started_at)} failed${logs}\n`;
    })
    .join('');
  return `migrate found failed migrations in the target database, new migrations will not be applied. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n${details}`;
}

/** chrono's `DateTime<Utc>` Display (`2024-01-01 10:00:00.123456 UTC`) from Postgres' timestamptz text. */
function chronoUtc(pgText: string): string {
  const d = new Date(pgText.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  if (Number.isNaN(d.getTime())) return pgText;
  const micros = /\.(\d+)/.exec(pgText)?.[1]?.padEnd(6, '0') ?? '000000';
  const base = d.toISOString().slice(0, 19).replace('T', ' ');
  const frac = micros === '000000' ? '' : micros.endsWith('000') ? `.${micros.slice(0, 3)}` : `.${micros}`;
  return `${base}${frac} UTC`;
}

/**
 * The `logs` Prisma stores for a failed script: `ApplyMigrationError` (P3018) with the database
 * error rendered as `{db_error}{position}\n\n{db_error:?}`. Prisma appends the engine's tracing
 * span trace (Rust source locations of its own build); that part is not reproducible and is left out.
 */
export function formatApplyMigrationLogs(migrationName: string, script: string, error: unknown): string {
  const db = asDatabaseError(error);
  const code = db?.code ?? 'none';
  const databaseError = db
    ? `${displayDbError(db)}${positionBlock(script, db.position)}\n\n${debugDbError(db)}`
    : error instanceof Error
      ? error.message
      : String(error);
  return `A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\nMigration name: ${migrationName}\n\nDatabase error code: ${code}\n\nDatabase error:\n${databaseError}\n\n`;
}

/** A node-postgres server error, recognised by its SQLSTATE. */
export function asDatabaseError(error: unknown): DatabaseError | undefined {
  const e = error as Partial<DatabaseError> | null;
  return e && typeof e === 'object' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && 'severity' in e
    ? (e as DatabaseError)
    : undefined;
}

/** tokio-postgres `DbError` Display. */
function displayDbError(db: DatabaseError): string {
  return `${db.severity ?? 'ERROR'}: ${db.message}${db.detail ? `\nDETAIL: ${db.detail}` : ''}${db.hint ? `\nHINT: ${db.hint}` : ''}`;
}

/**
 * The "Position:" excerpt of `apply_migration_script`, kept to its arithmetic: Postgres' character
 * position compared with a running byte count of `lines()` (+1 per line), the 5 preceding lines
 * numbered from `line - 5` (so line 0 can appear), ANSI bold/red as Prisma stores them.
 */
function positionBlock(script: string, position: string | undefined): string {
  if (position === undefined) return '';
  const pos = Number(position);
  const lines = script.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let previous = ['', '', '', '', ''];
  let byteIndex = 0;
  for (let idx = 0; idx < lines.length; idx++) {
    const line = (lines[idx] as string).replace(/\r$/, '');
    const lineNumber = idx + 1;
    byteIndex += Buffer.byteLength(line) + 1;
    if (pos <= byteIndex) {
      const numbered = previous
        .map((l, i) => ({ n: lineNumber - (previous.length - i), l }))
        .filter((x) => x.n >= 0)
        .map((x) => `\x1b[1m${String(x.n).padStart(3)}\x1b[0m${x.l === '' ? '' : ' '}${x.l}`)
        .join('\n');
      return `\n\nPosition:\n${numbered}\n\x1b[1m${String(lineNumber).padStart(3)}\x1b[1;31m ${line}\x1b[0m`;
    }
    previous = [...previous.slice(1), line];
  }
  return '';
}

const SEVERITIES: Record<string, string> = {
  PANIC: 'Panic',
  FATAL: 'Fatal',
  ERROR: 'Error',
  WARNING: 'Warning',
  NOTICE: 'Notice',
  DEBUG: 'Debug',
  INFO: 'Info',
  LOG: 'Log',
};

/** tokio-postgres `DbError` derived Debug, field for field. */
function debugDbError(db: DatabaseError): string {
  const str = (v: string | undefined) => (v === undefined ? 'None' : `Some(${rustStr(v)})`);
  const severity = db.severity ?? 'ERROR';
  const parsed = SEVERITIES[severity] ? `Some(${SEVERITIES[severity]})` : 'None';
  const position =
    db.position !== undefined
      ? `Some(Original(${db.position}))`
      : db.internalPosition !== undefined
        ? `Some(Internal { position: ${db.internalPosition}, query: ${rustStr(db.internalQuery ?? '')} })`
        : 'None';
  return `DbError { severity: ${rustStr(severity)}, parsed_severity: ${parsed}, code: SqlState(E${db.code}), message: ${rustStr(db.message)}, detail: ${str(db.detail)}, hint: ${str(db.hint)}, position: ${position}, where_: ${str(db.where)}, schema: ${str(db.schema)}, table: ${str(db.table)}, column: ${str(db.column)}, datatype: ${str(db.dataType)}, constraint: ${str(db.constraint)}, file: ${str(db.file)}, line: ${db.line === undefined ? 'None' : `Some(${db.line})`}, routine: ${str(db.routine)} }`;
}

/** Rust's `str` Debug: quotes, backslash escapes, `\u{..}` for other control characters. */
function rustStr(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\0') out += '\\0';
    else if (c < 0x20 || c === 0x7f) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}
