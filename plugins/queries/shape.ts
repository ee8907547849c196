/**
 * A statement's shape: its text with every value taken out, so the same query with other
 * arguments has the same shape (Laravel's `assertNoRepeatedQueries`, Bullet's N+1 detection).
 * - comments go (sqlcommenter tags, shipgate's own), whitespace collapses;
 * - string, dollar-quoted and numeric literals and `$n` parameters become `?`;
 * - a list of values becomes one: `IN (?, ?, ?)` → `IN (?)`, `VALUES (?, ?), (?, ?)` → `VALUES (?)`.
 * Identifiers and keywords keep their spelling: an ORM writes one query the same way each time.
 */

const COMMENT = /\/\*[\s\S]*?\*\/|--[^\n]*/g;
const STRING = /(?:\b[eEbBxXuU]&?)?'(?:[^']|'')*'/g;
const DOLLAR = /\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g;
const PARAM = /\$\d+/g;
const NUMBER = /(?<![\w$."])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b/g;
const LIST = /\(\s*\?(?:\s*,\s*\?)+\s*\)/g;
const ROWS = /\(\?\)(?:\s*,\s*\(\?\))+/g;
const ARRAY = /ARRAY\s*\[\s*\?(?:\s*,\s*\?)*\s*\]/gi;

/** The shape of `text`: values out, lists collapsed, comments gone. */
export function shapeOf(text: string): string {
  return text
    .replace(COMMENT, ' ')
    .replace(DOLLAR, '?')
    .replace(STRING, '?')
    .replace(PARAM, '?')
    .replace(NUMBER, '?')
    .replace(ARRAY, 'ARRAY[?]')
    .replace(LIST, '(?)')
    .replace(ROWS, '(?)')
    .replace(/\s+/g, ' ')
    .replace(/\s*;\s*$/, '')
    .trim();
}

const CONTROL =
  /^(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|SET|RESET|SHOW|DISCARD|DEALLOCATE|PREPARE\s+TRANSACTION|LISTEN|UNLISTEN)\b/i;

/**
 * Transaction control and session settings: not counted as queries, so a count is the same in
 * every isolation mode (rollback isolation turns BEGIN/COMMIT into savepoints, and an ignored
 * COMMIT into `SELECT 1 /* shipgate: … *\/`).
 */
export function isControl(text: string): boolean {
  const bare = text.replace(COMMENT, ' ').trim();
  return CONTROL.test(bare) || (/^SELECT 1$/i.test(bare) && /\/\* shipgate: /.test(text));
}

const TRACEPARENT = /traceparent\s*=\s*'00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}'/i;

/**
 * The trace id a statement carries in a sqlcommenter comment (`/*traceparent='00-…'*\/`, as
 * `@prisma/sqlcommenter-trace-context` or any sqlcommenter writes it), or undefined.
 */
export function traceIdOf(text: string): string | undefined {
  const m = TRACEPARENT.exec(text);
  return m?.[1]?.toLowerCase();
}
