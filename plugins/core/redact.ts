/**
 * Secrets out of every output: a report sink, a record file, a console line. Two kinds are
 * replaced with `***`:
 * - the password of any URL (`scheme://user:password@host`), wherever it appears;
 * - configured secrets: the value of every environment variable whose name says it is one
 *   (PASSWORD, SECRET, TOKEN, WEBHOOK, API_KEY, …; SHIPGATE_WEBHOOK_URL's secret is its path),
 *   and the password of every URL-valued variable (SHIPGATE_DATABASE_URL, DATABASE_URL, …), so
 *   it is caught even where it appears without its URL.
 * Short values (under 8 characters) are only caught inside URLs: replacing every "postgres" in a
 * report would hide more than it protects.
 */

const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|WEBHOOK|API_?KEY|PRIVATE_KEY|CREDENTIAL|AUTH/i;
const MIN_SECRET = 8;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s'"]*):([^@\s/'"]+)@/gi;
const MASK = '***';

/** The configured secrets in `env`, longest first. */
export function configuredSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_NAME.test(name) && value.length >= MIN_SECRET) found.add(value);
    if (!value.includes('://')) continue;
    try {
      const password = new URL(value).password;
      if (password.length >= MIN_SECRET) {
        found.add(password);
        found.add(decodeURIComponent(password));
      }
    } catch {}
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with URL passwords and configured secrets replaced by `***`. */
export function redactSecrets(text: string, secrets: readonly string[] = configuredSecrets()): string {
  let out = text.replace(URL_CREDENTIALS, (_, head: string) => `${head}:${MASK}@`);
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

/** A deep copy of `value` with every string redacted (for a report before its sinks run). */
export function redactDeep<T>(value: T, secrets: readonly string[] = configuredSecrets()): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactSecrets(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
