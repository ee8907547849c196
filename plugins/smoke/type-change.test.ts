import { describe, expect, test } from 'vitest';
import { effectHolds, typeEffect, usingClause } from './type-change.ts';

const t = (type: string, category: string, typname: string) => ({ type, category, typname });
const NUMERIC_10_2 = t('numeric(10,2)', 'N', 'numeric');

describe('typeEffect', () => {
  test('names only what the two types prove', () => {
    expect(typeEffect(NUMERIC_10_2, t('integer', 'N', 'int4'))).toEqual({
      effect: 'rounded',
      words: 'keeps no decimal places (rounded)',
    });
    expect(typeEffect(NUMERIC_10_2, t('numeric(10,1)', 'N', 'numeric')).effect).toBe('rounded');
    expect(typeEffect(t('text', 'S', 'text'), t('character varying(255)', 'S', 'varchar'))).toEqual({
      effect: 'truncated',
      words: 'keeps 255 characters (truncated)',
    });
    expect(typeEffect(t('text', 'S', 'text'), t('text[]', 'A', '_text')).effect).toBe('wrapped');
    expect(typeEffect(t('text[]', 'A', '_text'), t('text', 'S', 'text')).effect).toBe('unwrapped');
    expect(
      typeEffect(
        t('timestamp(3) without time zone', 'D', 'timestamp'),
        t('timestamp with time zone', 'D', 'timestamptz'),
      ).effect,
    ).toBe('shifted');
  });

  test('no rounding or truncation claimed where the types do not lose digits or characters', () => {
    expect(typeEffect(NUMERIC_10_2, t('numeric(14,2)', 'N', 'numeric')).effect).toBe('converted');
    expect(typeEffect(t('integer', 'N', 'int4'), t('bigint', 'N', 'int8')).effect).toBe('converted');
    expect(typeEffect(t('character varying(40)', 'S', 'varchar'), t('text', 'S', 'text')).effect).toBe('converted');
    expect(typeEffect(t('text', 'S', 'text'), t('integer', 'N', 'int4'))).toEqual({ effect: 'converted', words: '' });
  });
});

describe('effectHolds', () => {
  test('a sample that is not rounded or cut withdraws the claim', () => {
    expect(effectHolds('rounded', { type: 'integer' }, '12.50', '13')).toBe(true);
    expect(effectHolds('rounded', { type: 'integer' }, '12.50', '1250')).toBe(false);
    expect(effectHolds('rounded', { type: 'numeric(10,1)' }, '3.25', '3.3')).toBe(true);
    expect(effectHolds('truncated', { type: 'character varying(3)' }, 'abcdef', 'abc')).toBe(true);
    expect(effectHolds('truncated', { type: 'character varying(3)' }, 'abcdef', 'xyz')).toBe(false);
  });
});

describe('usingClause', () => {
  test("finds the column's own USING, quoted or not, and not another clause's", () => {
    expect(usingClause('ALTER TABLE "o" ALTER COLUMN "tags" SET DATA TYPE TEXT[] USING ARRAY["tags"];', 'tags')).toBe(
      'ARRAY["tags"]',
    );
    expect(usingClause('alter table o alter column price type bigint using (price * 100)::bigint;', 'price')).toBe(
      '(price * 100)::bigint',
    );
    const two = 'ALTER TABLE "o" ALTER COLUMN "a" TYPE BIGINT, ALTER COLUMN "b" TYPE INTEGER USING "b"::integer;';
    expect(usingClause(two, 'a')).toBeUndefined();
    expect(usingClause(two, 'b')).toBe('"b"::integer');
    expect(
      usingClause('ALTER TABLE "o" ALTER COLUMN "notes" TYPE TEXT[] USING ARRAY["notes"];', 'note'),
    ).toBeUndefined();
  });
});
