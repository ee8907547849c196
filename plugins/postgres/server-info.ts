import pg from 'pg';
import { DatabaseError, describeError, redactUrl } from '../core/errors.ts';
import { isPgTimeout } from '../core/pg-timeouts.ts';

/** What shipgate needs to know about a server: major version, version string, max_connections. */
export interface ServerInfo {
  major: number;
  version: string;
  maxConnections: number;
}

/** Connects once to `adminUrl` and reads version and max_connections. */
export async function readServerInfo(adminUrl: string, connectTimeoutMs = 10_000): Promise<ServerInfo> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: connectTimeoutMs });
  try {
    await client.connect();
    const { rows } = await client.query<{ num: string; version: string; max: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version, current_setting('max_connections') AS max",
    );
    const row = rows[0];
    if (!row) throw new Error('no row from current_setting()');
    return { major: Math.floor(Number(row.num) / 10_000), version: row.version, maxConnections: Number(row.max) };
  } catch (err) {
    const why = isPgTimeout(err)
      ? `${(err as Error).message}: no answer within ${connectTimeoutMs} ms`
      : describeError(err);
    throw new DatabaseError(
      'SHIPGATE_DB_UNREACHABLE',
      `Cannot connect to Postgres at "${redactUrl(adminUrl)}": ${why}.`,
      { cause: err, hint: 'Check the server is running, or set SHIPGATE_DATABASE_URL / SHIPGATE_PROVIDER.' },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
