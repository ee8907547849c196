import pg from 'pg';
import { ConfigError, describeError, ProviderError, redactUrl } from '../core/errors.ts';
import { pgConnectOptions } from '../core/pg-timeouts.ts';
import { envValue } from '../core/settings.ts';
import type { Availability, PostgresProvider, ProviderOptions, StartedPostgres } from './provider.ts';
import { readServerInfo } from './server-info.ts';

function adminUrlOf(options: ProviderOptions): string | undefined {
  // An explicit option (already resolved by resolveProviderOptions, env over config) wins here.
  return options.adminUrl ?? envValue('SHIPGATE_DATABASE_URL');
}

/** Parses and checks an admin URL; throws a ConfigError naming the value and the env var. */
export function parseAdminUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new ConfigError(
      [`SHIPGATE_DATABASE_URL is not a URL: "${redactUrl(url)}" (expected postgres://user:pass@host:port/db)`],
      {
        cause: err,
      },
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new ConfigError([
      `SHIPGATE_DATABASE_URL has protocol "${u.protocol}", expected "postgres:" or "postgresql:"`,
    ]);
  }
  return u;
}

/**
 * An existing server reached through an admin URL. shipgate only creates and drops databases
 * that carry its prefix here (see databases.ts); the server itself is never stopped.
 */
export const externalProvider: PostgresProvider = {
  name: 'external',

  async available(options: ProviderOptions): Promise<Availability> {
    const url = adminUrlOf(options);
    if (!url) return { ok: false, reason: 'no admin URL configured (set SHIPGATE_DATABASE_URL or postgres.adminUrl)' };
    try {
      parseAdminUrl(url);
      const info = await readServerInfo(url, 3_000);
      return { ok: true, detail: `${redactUrl(url)} (Postgres ${info.version})` };
    } catch (err) {
      return { ok: false, reason: describeError(err) };
    }
  },

  async start(options: ProviderOptions): Promise<StartedPostgres> {
    const url = adminUrlOf(options);
    if (!url) {
      throw new ProviderError('SHIPGATE_PROVIDER_EXTERNAL', 'The external provider needs an admin URL.', {
        hint: 'Set SHIPGATE_DATABASE_URL=postgres://user:pass@host:5432/postgres.',
      });
    }
    parseAdminUrl(url);
    const info = await readServerInfo(url);
    const client = new pg.Client({ ...pgConnectOptions(), connectionString: url });
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean; role: string }>(
        'SELECT (rolsuper OR rolcreatedb) AS ok, rolname AS role FROM pg_roles WHERE rolname = current_user',
      );
      if (!rows[0]?.ok) {
        throw new ProviderError(
          'SHIPGATE_PROVIDER_EXTERNAL',
          `Role "${rows[0]?.role ?? '?'}" at "${redactUrl(url)}" cannot create databases (needs CREATEDB).`,
          { hint: 'Use an admin role in SHIPGATE_DATABASE_URL, or ALTER ROLE … CREATEDB.' },
        );
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    const stop = async () => {};
    return {
      provider: 'external',
      adminUrl: url,
      ...info,
      ephemeral: false,
      detail: redactUrl(url),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  },
};
