import { describe, expect, test } from 'vitest';
import { isTransactionControl, lineAt, offsetOfPosition, splitSqlStatements, statementAt } from './sql-split.ts';

// Expected statement starts come from the real Postgres parser: libpg-query 18.1.5 (Postgres 18
// grammar) `parseSync(sql).stmts[].stmt_location`, converted from UTF-8 bytes to string offsets.
// Generated once; the parser is not a dependency (see the note at the top of sql-split.ts).
const corpus: { name: string; sql: string; starts: number[]; lines: number[] }[] = [
  {
    name: 'quotes, comments, dollar quotes, BEGIN ATOMIC, string prefixes',
    sql: `-- leading comment ; with semicolon
CREATE TABLE "a;b" (id int, "x""y;" text); /* block ; /* nested ; */ still */
CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;
CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END;
DO $x$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $x$;
DO $$ BEGIN NULL; END $$;
SELECT E'it\\'s;', 'x''y;', U&'d\\0061;', B'101', X'1F', N'nat;';
SELECT $1, a$b$c FROM t;
CREATE INDEX CONCURRENTLY i ON t(x)`,
    starts: [36, 114, 221, 310, 363, 389, 453, 478],
    lines: [2, 3, 4, 5, 6, 7, 8, 9],
  },
  {
    name: 'empty statements, parentheses, non-BMP characters',
    sql: `INSERT INTO t (a) VALUES ('a;b'), ((SELECT 1));;;
  ;  -- empty statements
SELECT 1 -- trailing comment;
;
SELECT 'héllo 😀;' ; SELECT 2`,
    starts: [0, 75, 107, 128],
    lines: [1, 3, 5, 5],
  },
  {
    name: 'plpgsql body, trigger, transaction control',
    sql: `CREATE FUNCTION trg() RETURNS trigger AS $body$
BEGIN
  NEW.updated = now(); -- ;
  RETURN NEW;
END;
$body$ LANGUAGE plpgsql;
CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW EXECUTE FUNCTION trg();
BEGIN;
COMMIT;`,
    starts: [0, 126, 199, 206],
    lines: [1, 7, 8, 9],
  },
  {
    name: 'CASE inside BEGIN ATOMIC, keywords as identifiers, numbers',
    sql: `CREATE OR REPLACE FUNCTION g(a int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE a WHEN 1 THEN 10 ELSE 20 END;
END;
SELECT s.end_time FROM schedule s WHERE .5 < 1.5e3;
CREATE TABLE "begin" ("end" int);
ALTER TABLE x ADD COLUMN y int GENERATED ALWAYS AS (a + 1) STORED;`,
    starts: [0, 123, 175, 209],
    lines: [1, 5, 6, 7],
  },
];

describe('splitSqlStatements', () => {
  for (const c of corpus) {
    test(`matches the Postgres parser's statement starts: ${c.name}`, () => {
      const statements = splitSqlStatements(c.sql);
      expect(statements.map((s) => s.start)).toEqual(c.starts);
      expect(statements.map((s) => s.line)).toEqual(c.lines);
      for (const s of statements) {
        expect(s.text).toBe(c.sql.slice(s.start, s.end));
        expect(s.text).not.toMatch(/;\s*$/);
      }
    });
  }

  test('keeps a dollar-quoted body and a BEGIN ATOMIC body in one statement', () => {
    const [fn, atomic] = splitSqlStatements(
      'CREATE FUNCTION a() RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql;\nCREATE FUNCTION b() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END',
    );
    expect(fn?.text).toBe('CREATE FUNCTION a() RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql');
    expect(atomic?.text.endsWith('END')).toBe(true);
  });

  test('splits files Postgres cannot parse (the reason for a lexer)', () => {
    const statements = splitSqlStatements("SELECT 1;\nSELEC 2;\nSELECT 'unterminated");
    expect(statements.map((s) => s.text)).toEqual(['SELECT 1', 'SELEC 2', "SELECT 'unterminated"]);
  });

  test('drops comment-only input', () => {
    expect(splitSqlStatements('-- nothing\n/* here */\n;\n')).toEqual([]);
  });
});

describe('positions', () => {
  test("maps Postgres' 1-based character position to a string offset, counting a non-BMP character once", () => {
    const sql = "SELECT '😀', x;\nSELEC 1";
    // Postgres counts 😀 as one character; JS stores it as two code units.
    const pgPosition = [...sql].indexOf('S', 3) + 1; // the S of SELEC, 1-based in characters
    const offset = offsetOfPosition(sql, pgPosition);
    expect(sql.slice(offset, offset + 5)).toBe('SELEC');
    expect(lineAt(sql, offset)).toBe(2);
    expect(statementAt(splitSqlStatements(sql), offset)?.index).toBe(1);
  });

  test('attributes trailing comments to the statement before them', () => {
    const sql = 'SELECT 1; -- note\nSELECT 2';
    const statements = splitSqlStatements(sql);
    expect(statementAt(statements, sql.indexOf('note'))?.index).toBe(0);
    expect(statementAt(statements, 0)?.index).toBe(0);
  });

  test('recognises transaction control', () => {
    const kinds = splitSqlStatements(
      'BEGIN; START TRANSACTION; COMMIT; END; ROLLBACK; SAVEPOINT a; RELEASE a; PREPARE TRANSACTION $$x$$; SELECT 1; CREATE TABLE "begin" (x int)',
    ).map(isTransactionControl);
    expect(kinds).toEqual([true, true, true, true, true, true, true, true, false, false]);
  });
});
