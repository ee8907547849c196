import { redactSecrets } from './redact.ts';
import { envValue } from './settings.ts';

/**
 * Every error shipgate raises is a ShipgateError with a stable `code`, a message that says
 * what failed, the observed value and the fix (config key or env var), and the original
 * error as `cause`. The message has URL passwords and configured secrets as `***`.
 */
export class ShipgateError extends Error {
  /** Stable machine-readable code, e.g. `SHIPGATE_NO_PROVIDER`. */
  readonly code: string;
  /** A one-line fix suggestion, already included at the end of `message`. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(redactSecrets(options.hint ? `${message} ${options.hint}` : message), { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** No Postgres provider could be used; the message lists every provider's reason. */
export class NoProviderError extends ShipgateError {}
/** A provider was chosen (or forced) but could not start or be reached. */
export class ProviderError extends ShipgateError {}
/** Configuration failed validation; all problems are listed at once. */
export class ConfigError extends ShipgateError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      'SHIPGATE_CONFIG',
      `Invalid shipgate configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      options,
    );
    this.problems = problems;
  }
}
/** A migration file failed; names the file, the statement and the Postgres error. */
export class MigrationError extends ShipgateError {}
/** Database lifecycle problems: unreachable server, create/drop failures, capacity. */
export class DatabaseError extends ShipgateError {}

/**
 * A package shipgate needs is missing or installed twice: an optional package a feature needs
 * (code `SHIPGATE_MISSING_PACKAGE`, the message names the feature and the install command), or
 * two copies of `pg` that cannot share a pool (code `SHIPGATE_PG_COPIES`).
 */
export class DependencyError extends ShipgateError {}

/** Replaces the password in a Postgres URL so it can be printed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
  }
}

/** Describes an unknown thrown value in one line, for error chains, with secrets as `***`. */
export function describeError(err: unknown): string {
  return redactSecrets(describeRaw(err));
}

function describeRaw(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(describeError).join('; ');
  }
  if (err instanceof Error) {
    // pg's own words for shipgate's bounds (core/pg-timeouts.ts) name neither the limit nor its knob.
    // A caller that used another limit says so itself (server-info.ts); this is the default one.
    if (/^(timeout expired|Connection terminated due to connection timeout|Query read timeout)$/.test(err.message)) {
      const ms = envValue('SHIPGATE_PG_TIMEOUT_MS') ?? '10000';
      return `${err.message}: no answer from Postgres within ${ms} ms (SHIPGATE_PG_TIMEOUT_MS)`;
    }
    // fetch and friends wrap the real reason ("connect ECONNREFUSED …") in `cause`.
    if (err.message === 'fetch failed' && err.cause) return `${err.message}: ${describeError(err.cause)}`;
    const code = (err as { code?: unknown }).code;
    return code && !err.message.includes(String(code))
      ? `${err.message} (${String(code)})`
      : err.message || String(code ?? err.name);
  }
  return String(err);
}
