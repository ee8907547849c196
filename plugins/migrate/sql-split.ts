/**
 * Splits a Postgres script into statements, for error reporting only: migration files are always
 * sent to the server whole. A lexer rather than the real parser (npm `libpg-query`, Postgres'
 * parser in WASM), because the splitter's hardest job is a file the parser rejects: for a syntax
 * error the whole file fails to parse, in libpg-query as on the server, and we still have to name
 * the statement that holds Postgres' error position. libpg-query's scanner is no fallback either
 * (18.1.5 throws on an unterminated literal). The rules are psql's (psqlscan.l), the splitter
 * everyone already runs migration files through: `;` ends a statement outside quotes, comments
 * and parentheses, and outside `BEGIN … END` in `CREATE [OR REPLACE] FUNCTION|PROCEDURE`
 * (SQL-standard bodies, `BEGIN ATOMIC`). Boundaries were checked against libpg-query's
 * `stmt_location` on the corpus in sql-split.test.ts.
 */

/** One statement of a script. Offsets are JS string indices (UTF-16 code units). */
export interface SqlStatement {
  /** 0-based position in the script. */
  index: number;
  /** From the first token to the last token before the terminating `;` (comments around it excluded). */
  text: string;
  /** Offset of the statement's first character. */
  start: number;
  /** Offset just past the statement's last token. */
  end: number;
  /** 1-based line of `start`. */
  line: number;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
// Postgres' ident_start / ident_cont: letters, `_`, any non-ASCII; digits and `$` may follow.
const isIdentStart = (c: string) => /[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80;
const isIdentCont = (c: string) => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;
const DOLLAR_DELIMITER = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** Splits `sql` into statements; comment-only and empty statements are dropped. */
export function splitSqlStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const n = sql.length;
  let start = -1;
  let lastEnd = -1;
  let parenDepth = 0;
  let beginDepth = 0;
  // psql's `identifiers[4]` + `identifier_count`: the initials of the statement's first words,
  // kept only for create/or/replace/function/procedure, to recognise routine definitions.
  let initials: string[] = [];
  let wordCount = 0;

  const finish = () => {
    if (start >= 0) {
      statements.push({
        index: statements.length,
        text: sql.slice(start, lastEnd),
        start,
        end: lastEnd,
        line: lineAt(sql, start),
      });
    }
    start = -1;
    parenDepth = 0;
    beginDepth = 0;
    initials = [];
    wordCount = 0;
  };

  let i = 0;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '-' && next === '-') {
      while (i < n && sql[i] !== '\n' && sql[i] !== '\r') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
      continue;
    }
    if (c === ';' && parenDepth === 0 && beginDepth === 0) {
      finish();
      i++;
      continue;
    }
    if (start < 0) start = i;

    if (c === "'") {
      i = skipQuoted(sql, i, "'", false);
    } else if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '$') {
      DOLLAR_DELIMITER.lastIndex = i;
      const m = DOLLAR_DELIMITER.exec(sql);
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length);
        i = close < 0 ? n : close + m[0].length;
      } else {
        i++;
        while (i < n && /[0-9]/.test(sql[i] as string)) i++; // $1 parameter or a stray `$`
      }
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(sql[j] as string)) j++;
      const word = sql.slice(i, j);
      const lower = word.toLowerCase();
      if (sql[j] === "'" && (lower === 'e' || lower === 'b' || lower === 'x' || lower === 'n')) {
        // E'…' takes backslash escapes; B'', X'', N'' quote like standard strings.
        i = skipQuoted(sql, j, "'", lower === 'e');
      } else if (lower === 'u' && sql[j] === '&' && (sql[j + 1] === "'" || sql[j + 1] === '"')) {
        i = skipQuoted(sql, j + 1, sql[j + 1] as string, false);
      } else {
        trackWord(lower);
        i = j;
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next ?? ''))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++;
      i = j;
    } else {
      if (c === '(') parenDepth++;
      else if (c === ')' && parenDepth > 0) parenDepth--;
      i++;
    }
    lastEnd = i;
  }
  finish();
  return statements;

  function trackWord(lower: string) {
    if (wordCount === 0) initials = [];
    if (
      wordCount < 4 &&
      (lower === 'create' || lower === 'or' || lower === 'replace' || lower === 'function' || lower === 'procedure')
    ) {
      initials[wordCount] = lower[0] as string;
    }
    wordCount++;
    const [a, b, c, d] = initials;
    const isRoutine = a === 'c' && (b === 'f' || b === 'p' || (b === 'o' && c === 'r' && (d === 'f' || d === 'p')));
    if (!isRoutine || parenDepth !== 0) return;
    if (lower === 'begin') beginDepth++;
    else if (lower === 'case' && beginDepth >= 1)
      beginDepth++; // CASE … END inside a body
    else if (lower === 'end' && beginDepth > 0) beginDepth--;
  }
}

/** Index just past the quoted token starting at `open`; doubled quotes escape, and `\` too when `backslash`. */
function skipQuoted(sql: string, open: number, quote: string, backslash: boolean): number {
  let i = open + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslash && c === '\\') {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** Index just past the (nested, as in Postgres) block comment starting at `open`. */
function skipBlockComment(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** 1-based line number of the character at `offset`. */
export function lineAt(sql: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < sql.length; i++) if (sql.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Converts Postgres' error `position` (1-based, counted in characters of the query string) to a
 * JS string offset; the two differ for characters outside the BMP, which JS stores as two units.
 */
export function offsetOfPosition(sql: string, position: number): number {
  let chars = 1;
  let i = 0;
  while (i < sql.length && chars < position) {
    const code = sql.codePointAt(i) as number;
    i += code > 0xffff ? 2 : 1;
    chars++;
  }
  return Math.min(i, sql.length);
}

/** The statement an offset belongs to: the last one starting at or before it (comments after a statement belong to it). */
export function statementAt(statements: readonly SqlStatement[], offset: number): SqlStatement | undefined {
  let found: SqlStatement | undefined = statements[0];
  for (const s of statements) {
    if (s.start <= offset) found = s;
    else break;
  }
  return found;
}

/** Words that end or open a transaction: a statement with one of these must not be replayed inside BEGIN … ROLLBACK. */
export function isTransactionControl(statement: SqlStatement): boolean {
  return /^(begin|start|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i.test(statement.text);
}
