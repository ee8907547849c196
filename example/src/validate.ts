import { HttpError } from './http-error.ts';

/** Per-field problems, e.g. `{ email: 'must be an email address' }`. */
export type FieldErrors = Record<string, string>;

/** 400 `{ error: { code: 'validation', message, fields } }`, listing every bad field at once. */
export class ValidationError extends HttpError {
  constructor(message: string, fields: FieldErrors) {
    super(400, 'validation', message, { fields });
  }
}

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** One field's parser; `optional` rules accept a missing (undefined) value. */
export interface Rule<T> {
  readonly optional: boolean;
  parse(value: unknown): Parsed<T>;
}

type Shape = Record<string, Rule<unknown>>;
type Out<S extends Shape> = {
  [K in keyof S as S[K] extends Rule<infer T> ? (undefined extends T ? never : K) : never]: S[K] extends Rule<infer T>
    ? T
    : never;
} & {
  [K in keyof S as S[K] extends Rule<infer T> ? (undefined extends T ? K : never) : never]?: S[K] extends Rule<infer T>
    ? T
    : never;
};

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

/** A string, trimmed, `min`..`max` characters long. */
export function str(opts: { min?: number; max: number }): Rule<string> {
  const min = opts.min ?? 1;
  return {
    optional: false,
    parse(value) {
      if (typeof value !== 'string') return fail('must be a string');
      const s = value.trim();
      if (s.length < min) return fail(min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
      if (s.length > opts.max) return fail(`must be at most ${opts.max} characters (got ${s.length})`);
      return ok(s);
    },
  };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** An email address, trimmed and lower-cased, at most 254 characters. */
export function email(): Rule<string> {
  return {
    optional: false,
    parse(value) {
      if (typeof value !== 'string') return fail('must be a string');
      const s = value.trim().toLowerCase();
      if (s.length > 254 || !EMAIL.test(s)) return fail('must be an email address');
      return ok(s);
    },
  };
}

/** An integer in `min`..`max`; with `coerce`, also a decimal string (query and path parameters). */
export function int(opts: { min?: number; max?: number; coerce?: boolean } = {}): Rule<number> {
  const min = opts.min ?? 1;
  const max = opts.max ?? 2_147_483_647;
  return {
    optional: false,
    parse(value) {
      const n = opts.coerce && typeof value === 'string' && /^-?\d{1,10}$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) return fail('must be an integer');
      if (n < min || n > max) return fail(`must be between ${min} and ${max} (got ${n})`);
      return ok(n);
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const V extends readonly string[]>(values: V): Rule<V[number]> {
  return {
    optional: false,
    parse(value) {
      if (typeof value === 'string' && values.includes(value)) return ok(value as V[number]);
      return fail(`must be one of ${values.join(', ')}`);
    },
  };
}

/** The same rule, but a missing value is fine. */
export function optional<T>(rule: Rule<T>): Rule<T | undefined> {
  return { optional: true, parse: (value) => (value === undefined ? ok(undefined) : rule.parse(value)) };
}

/**
 * Checks `input` against `shape` and returns the parsed values, or throws one ValidationError
 * naming every bad, missing and unknown field. `what` names the input in the message.
 */
export function parse<S extends Shape>(input: unknown, shape: S, what = 'request body', allowUnknown = false): Out<S> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError(`The ${what} must be a JSON object (send Content-Type: application/json)`, {});
  }
  const fields: FieldErrors = {};
  const out: Record<string, unknown> = {};
  const record = input as Record<string, unknown>;
  for (const [key, rule] of Object.entries(shape)) {
    const value = record[key];
    if (value === undefined && !rule.optional) {
      fields[key] = 'is required';
      continue;
    }
    const result = rule.parse(value);
    if (result.ok) {
      if (result.value !== undefined) out[key] = result.value;
    } else fields[key] = result.message;
  }
  for (const key of Object.keys(record)) {
    if (!allowUnknown && !(key in shape)) fields[key] = 'is not a known field';
  }
  const bad = Object.keys(fields);
  if (bad.length > 0) {
    throw new ValidationError(`Invalid ${what}: ${bad.map((k) => `${k} ${fields[k]}`).join('; ')}`, fields);
  }
  return out as Out<S>;
}

/** `parse` for `req.query`: unknown parameters (cache busters, tracking tags) are ignored. */
export function parseQuery<S extends Shape>(query: unknown, shape: S): Out<S> {
  return parse(query, shape, 'query', true);
}

/** Parses the `:id` path parameter as a positive integer. */
export function idParam(value: unknown, name = 'id'): number {
  return parse({ [name]: value }, { [name]: int({ coerce: true }) }, 'path')[name] as number;
}
