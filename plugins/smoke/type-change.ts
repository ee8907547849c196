/**
 * What a column type change does to the values it changed, named only as far as the two types
 * prove it: numbers keep fewer digits (rounded), strings get a shorter limit (truncated), a
 * scalar becomes an array (wrapped), a timestamp gains or loses its time zone (shifted by the
 * session TimeZone). Anything else is "converted", with no claim about how. A USING expression
 * can do anything, so it is named instead of the types' effect; samples that contradict the
 * effect withdraw it (`effectHolds`).
 */
import { escapeRegExp } from './introspect.ts';

/** A column's type as the snapshot and the catalogs describe it. */
export interface TypeOf {
  /** `format_type()`, e.g. `numeric(10,2)`, `character varying(40)`, `text[]`. */
  type: string;
  /** pg_type.typcategory (`N`, `S`, `D`, `A` …; `E` for enums). */
  category: string;
  /** pg_type.typname of the base type (`numeric`, `int4`, `_text` …). */
  typname: string;
}

/** The effect a type change has on the values it changes. */
export type TypeEffect = 'rounded' | 'truncated' | 'wrapped' | 'unwrapped' | 'shifted' | 'converted';

const INTEGERS = new Set(['int2', 'int4', 'int8']);
const FLOATS = new Set(['float4', 'float8']);

/** `(p,s)` or `(n)` of a formatted type. */
function modifiers(type: string): number[] {
  const m = /\((\d+)(?:\s*,\s*(\d+))?\)/.exec(type);
  return m ? [Number(m[1]), ...(m[2] === undefined ? [] : [Number(m[2])])] : [];
}

/** Decimal places a numeric type keeps: 0 for integers, the scale of numeric(p,s), undefined when unbounded. */
function scaleOf(t: Pick<TypeOf, 'type'> & Partial<TypeOf>): number | undefined {
  if (t.typname ? INTEGERS.has(t.typname) : /^(smallint|integer|bigint)$/.test(t.type)) return 0;
  if (t.typname === 'numeric' || /^numeric\b/.test(t.type)) {
    const [p, s] = modifiers(t.type);
    return p === undefined ? undefined : (s ?? 0);
  }
  return undefined;
}

/** The effect of `before` → `after`, and what it does in words (empty when only "converted" can be said). */
export function typeEffect(before: TypeOf, after: TypeOf): { effect: TypeEffect; words: string } {
  if (before.category !== 'A' && after.category === 'A')
    return { effect: 'wrapped', words: 'wraps each value in an array' };
  if (before.category === 'A' && after.category !== 'A')
    return { effect: 'unwrapped', words: 'turns each array into a single value' };
  if (before.category === 'N' && after.category === 'N') {
    const scale = scaleOf(after);
    const was = scaleOf(before);
    if (scale !== undefined && (was === undefined || scale < was)) {
      return {
        effect: 'rounded',
        words: `keeps ${scale === 0 ? 'no decimal places' : `${scale} decimal place${scale === 1 ? '' : 's'}`} (rounded)`,
      };
    }
    if (FLOATS.has(after.typname) && !FLOATS.has(before.typname))
      return { effect: 'rounded', words: 'keeps binary floating-point digits only (rounded)' };
    if (after.typname === 'float4' && before.typname === 'float8')
      return { effect: 'rounded', words: 'keeps about 6 significant digits (rounded)' };
  }
  if (before.category === 'S' && after.category === 'S') {
    const [limit] = modifiers(after.type);
    const [was] = modifiers(before.type);
    if (limit !== undefined && (was === undefined || limit < was))
      return { effect: 'truncated', words: `keeps ${limit} characters (truncated)` };
  }
  const tz = before.typname === 'timestamptz' || after.typname === 'timestamptz';
  if (after.typname === 'date' && (before.typname === 'timestamp' || before.typname === 'timestamptz'))
    return { effect: 'converted', words: `keeps the date only${tz ? ', in the session TimeZone' : ''}` };
  if (tz && before.category === 'D' && after.category === 'D' && before.typname !== after.typname)
    return { effect: 'shifted', words: 'reads the values in the session TimeZone (shifted)' };
  return { effect: 'converted', words: '' };
}

/**
 * Whether one before/after sample is what `effect` says (rounded: within half a unit of the
 * kept scale; truncated: a prefix). Other effects are not checked by sample.
 */
export function effectHolds(
  effect: TypeEffect,
  after: Pick<TypeOf, 'type'>,
  before: string | null,
  now: string | null,
): boolean {
  if (before === null || now === null) return effect !== 'rounded' && effect !== 'truncated';
  if (effect === 'truncated') return before.startsWith(now) && now.length < before.length;
  if (effect === 'rounded') {
    const [b, n] = [Number(before), Number(now)];
    if (!Number.isFinite(b) || !Number.isFinite(n)) return false;
    const scale = scaleOf(after);
    const half = scale === undefined ? Math.abs(b) * 1e-6 : 0.5 * 10 ** -scale;
    return Math.abs(b - n) <= half * (1 + 1e-9);
  }
  return true;
}

/**
 * The USING expression of `ALTER COLUMN <column> [SET DATA] TYPE … USING …` in `sql`, shortened
 * to 80 characters, or undefined when the column's type change has none.
 */
export function usingClause(sql: string | undefined, column: string): string | undefined {
  if (!sql) return undefined;
  const col = escapeRegExp(column);
  const re = new RegExp(
    `ALTER\\s+COLUMN\\s+(?:"${col.replace(/"/g, '""')}"|${col})\\s+(?:SET\\s+DATA\\s+)?TYPE\\s(?:(?!\\bALTER\\b)[^;])*?\\bUSING\\s+((?:(?!,\\s*ALTER\\b)[^;])+)`,
    'i',
  );
  const expr = re.exec(sql)?.[1]?.trim().replace(/\s+/g, ' ');
  if (!expr) return undefined;
  return expr.length > 80 ? `${expr.slice(0, 80)} …` : expr;
}
