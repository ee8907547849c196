/**
 * SQL expressions that generate a column's values from the row number `g.i` (bigint), on the
 * server: deterministic (hashes of the row number and a per-column salt), fast (one
 * INSERT … SELECT FROM generate_series per table) and adversarial where the type allows:
 * NULLs in nullable columns, strings at their length limit (multi-byte), empty strings,
 * fractional and x.5 numerics, extremes of integer types, every enum value, non-midnight and
 * pre-epoch timestamps.
 */
import type { ColumnInfo } from './introspect.ts';

/** How values are made: `adversarial` adds the edge values above; `unique` makes them injective in the row number. */
export interface ValueMode {
  adversarial: boolean;
  unique: boolean;
  salt: number;
  /** SQL of the enum's labels as an array computed once per statement (enum_range per row costs seconds). */
  enumArray?: string;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** `((hash(i, salt) % k) + k) % k`: a value in [0, k) without abs() overflow on the minimum bigint. */
export function hashMod(k: string | number, salt: number, of = 'g.i'): string {
  return `(((hashint8extended(${of}, ${salt}) % (${k})) + (${k})) % (${k}))`;
}

/** CASE arms: `[condition, expression]`, applied in order before the regular value. */
type Arm = [string, string];

function caseOf(arms: Arm[], regular: string): string {
  if (arms.length === 0) return regular;
  return `CASE ${arms.map(([when, then]) => `WHEN ${when} THEN ${then}`).join(' ')} ELSE ${regular} END`;
}

const INT_MAX: Record<string, string> = { int2: '32767', int4: '2147483647', int8: '9223372036854775807' };

/** The raw expression (not yet cast to the column's type) for a base type, or undefined when unsupported. */
function baseExpr(col: ColumnInfo, typname: string, mode: ValueMode, arms: Arm[]): string | undefined {
  const h = (k: string | number) => hashMod(k, mode.salt);
  const adv = mode.adversarial;
  switch (typname) {
    case 'int2':
    case 'int4':
    case 'int8': {
      if (mode.unique) return 'g.i';
      if (adv) {
        arms.push(['g.i % 17 = 2', INT_MAX[typname] as string], ['g.i % 17 = 3', `-${h(1000)}`], ['g.i % 19 = 7', '0']);
      }
      return h(1000);
    }
    case 'numeric': {
      const scale = col.scale ?? 4;
      const intDigits = col.precision !== undefined ? col.precision - scale : 8;
      const whole = intDigits > 0 ? h(10 ** Math.min(intDigits, 6)) : '0';
      const frac = scale > 0 ? `${h(10 ** Math.min(scale, 6))}::numeric / ${10 ** Math.min(scale, 6)}` : '0';
      if (mode.unique) return `(g.i::numeric + ${frac})`;
      if (adv) {
        if (col.precision !== undefined && intDigits > 0) {
          const max = `${'9'.repeat(intDigits)}${scale > 0 ? `.${'9'.repeat(scale)}` : ''}`;
          arms.push(['g.i % 19 = 1', max]);
        }
        if (scale > 0 && intDigits > 0) arms.push(['g.i % 19 = 2', `(${h(10 ** Math.min(intDigits, 2))} + 0.5)`]);
        if (intDigits > 0) arms.push(['g.i % 17 = 3', `-(${whole}::numeric + ${frac})`]);
      }
      return `(${whole}::numeric + ${frac})`;
    }
    case 'float4':
    case 'float8':
      if (mode.unique) return `(g.i::float8 + 0.25)`;
      if (adv) arms.push(['g.i % 19 = 2', '0.1'], ['g.i % 17 = 3', `-(${h(100000)}::float8 / 7)`]);
      return `(${h(100000)}::float8 / 7)`;
    case 'money':
      return `((${h(1000000)})::numeric / 100)`;
    case 'bool':
      return '(g.i % 2 = 0)';
    case 'date':
      if (mode.unique) return `(date '2000-01-01' + g.i::int)`;
      if (adv) arms.push(['g.i % 23 = 1', `date '1969-12-31'`], ['g.i % 23 = 2', `date '2024-02-29'`]);
      return `(date '2024-01-01' + ${h(730)}::int)`;
    case 'timestamp':
    case 'timestamptz': {
      const origin =
        typname === 'timestamp' ? `timestamp '2024-01-01 00:00:00'` : `timestamptz '2024-01-01 00:00:00+00'`;
      if (mode.unique) return `(${origin} + make_interval(secs => g.i::float8 + 0.125))`;
      if (adv) {
        const [pre, gap] =
          typname === 'timestamp'
            ? [`timestamp '1969-12-31 23:59:59.999'`, `timestamp '2024-03-31 02:30:00.5'`]
            : [`timestamptz '1969-12-31 23:59:59.999+00'`, `timestamptz '2024-03-31 02:30:00.5+00'`];
        arms.push(['g.i % 23 = 1', pre], ['g.i % 23 = 2', gap]);
      }
      // Seconds over two years plus milliseconds: never midnight by construction except by chance.
      return `(${origin} + make_interval(secs => ${h(63072000)}::float8 + (g.i % 1000)::float8 / 1000 + 1.5))`;
    }
    case 'time':
    case 'timetz':
      return `(time '00:00' + make_interval(secs => ${h(86399)}::float8 + 0.125))`;
    case 'interval':
      return `make_interval(secs => ${h(1000000)}::float8)`;
    case 'uuid':
      return `md5(${lit(`u${mode.salt}:`)} || g.i)::uuid`;
    case 'json':
    case 'jsonb':
      return `jsonb_build_object('n', g.i, 's', 's' || (g.i % 10), 'f', 1.5, 'z', NULL)`;
    case 'bytea':
      return `decode(md5(g.i::text), 'hex')`;
    case 'inet':
    case 'cidr':
      return `('10.' || (g.i / 65536 % 256) || '.' || (g.i / 256 % 256) || '.' || (g.i % 256) || '/32')`;
    case 'tsvector':
      return `to_tsvector('simple', 'word' || (g.i % 100))`;
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
    case 'citext':
      return textExpr(col, mode, arms);
    default:
      if (col.category === 'S') return textExpr(col, mode, arms);
      return undefined;
  }
}

function textExpr(col: ColumnInfo, mode: ValueMode, arms: Arm[]): string {
  const limit = col.maxLength;
  const abbr = col.name.replace(/[^A-Za-z0-9]/g, '').slice(0, 8) || 'v';
  const cut = (e: string) => (limit ? `left(${e}, ${limit})` : e);
  if (mode.adversarial) {
    // At the length limit in multi-byte characters (300 where there is none: past the common 255).
    arms.push(['g.i % 11 = 5', `rpad(g.i::text || ':', ${limit ?? 300}, 'é')`]);
    if (!mode.unique) {
      arms.push(['g.i % 13 = 4', "''"], ['g.i % 17 = 6', cut(lit(`O'Brien "q" \\ ;-- ü`))]);
    }
  }
  return cut(mode.unique ? `(${lit(`${abbr}-`)} || g.i)` : `(${lit(`${abbr} `)} || (g.i % 37))`);
}

/**
 * The expression for one column, cast to its type, or undefined when its type is not supported.
 * Nullable columns get NULL in every 7th row when adversarial.
 */
export function valueExpr(col: ColumnInfo, mode: ValueMode): string | undefined {
  const arms: Arm[] = [];
  if (mode.adversarial && !col.notNull) arms.push(['g.i % 7 = 3', 'NULL']);
  let regular: string | undefined;
  if (col.isEnum) {
    // Every label appears once there are at least as many rows as labels.
    regular = `(${mode.enumArray ?? `enum_range(NULL::${col.baseType})`})[1 + (g.i % ${col.enumValues})]`;
  } else if (col.category === 'A' && col.elemTypname) {
    const elem = { ...col, maxLength: undefined, precision: undefined, scale: undefined, isEnum: false };
    const a = baseExpr(elem, col.elemTypname, { ...mode, adversarial: false }, []);
    const b = baseExpr(elem, col.elemTypname, { ...mode, adversarial: false, salt: mode.salt + 1 }, []);
    regular = a && b ? `ARRAY[${a}, ${b}]` : undefined;
  } else {
    regular = baseExpr(col, col.baseTypname, mode, arms);
  }
  if (regular === undefined) return undefined;
  // Each arm is cast to the column's type itself (no text round trip: it costs seconds at a million rows).
  return caseOf(
    arms.map(([w, t]) => [w, `(${t})::${col.type}`]),
    `(${regular})::${col.type}`,
  );
}
