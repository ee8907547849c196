import { describe, expect, test } from 'vitest';
import { isControl, shapeOf, traceIdOf } from './shape.ts';

describe('query shapes', () => {
  test('values out: the same query with other arguments has one shape', () => {
    const a = shapeOf(`SELECT "id", "title" FROM "public"."Ticket" WHERE "projectId" = $1 LIMIT $2 OFFSET $3`);
    expect(a).toBe('SELECT "id", "title" FROM "public"."Ticket" WHERE "projectId" = ? LIMIT ? OFFSET ?');
    expect(shapeOf("select * from t where name = 'O''Brien' and n = 42.5 and x = E'\\\\n'")).toBe(
      'select * from t where name = ? and n = ? and x = ?',
    );
    expect(shapeOf('select $tag$ a;b $tag$, $$x$$ from t1')).toBe('select ?, ? from t1');
  });

  test('lists collapse, comments and whitespace go, identifiers with digits stay', () => {
    expect(shapeOf('SELECT * FROM t2 WHERE id IN ($1, $2, $3)')).toBe('SELECT * FROM t2 WHERE id IN (?)');
    expect(shapeOf('SELECT * FROM t2 WHERE id IN (7)')).toBe('SELECT * FROM t2 WHERE id IN (?)');
    expect(shapeOf('insert into "a1" (x, y) values ($1, $2), ($3, $4), ($5, $6);')).toBe(
      'insert into "a1" (x, y) values (?)',
    );
    expect(
      shapeOf("select 1 /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/\n  -- note\n"),
    ).toBe('select ?');
    expect(shapeOf('select * from t where id = any(ARRAY[1, 2, 3])')).toBe('select * from t where id = any(ARRAY[?])');
  });

  test('transaction control and settings are control; a shipgate no-op is too, a plain SELECT 1 is not', () => {
    for (const s of [
      'BEGIN',
      'commit',
      'ROLLBACK TO SAVEPOINT a',
      'SAVEPOINT "x"',
      'SET search_path = x',
      '/* c */ RELEASE a',
    ]) {
      expect(isControl(s), s).toBe(true);
    }
    expect(isControl('SELECT 1 /* shipgate: COMMIT outside a nested transaction ignored */')).toBe(true);
    expect(isControl('SELECT 1')).toBe(false);
    expect(isControl('select * from "Settings"')).toBe(false);
  });

  test('a sqlcommenter traceparent gives the trace id', () => {
    expect(traceIdOf("SELECT 1 /*traceparent='00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01'*/")).toBe(
      '0af7651916cd43dd8448eb211c80319c',
    );
    expect(traceIdOf('SELECT 1')).toBeUndefined();
  });
});
