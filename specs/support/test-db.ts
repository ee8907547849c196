/**
 * Scratch databases for this folder's tests: empty databases on the run's shipgate server
 * (provided by the Vitest plugin's globalSetup), dropped by each test and, as a backstop, by
 * the run's teardown.
 */
import pg from 'pg';
import { inject } from 'vitest';
import { Databases } from '../../plugins/postgres/databases.ts';

let databases: Databases | undefined;
const created = new Set<string>();

function manager(): Databases {
  if (!databases) {
    const rt = inject('shipgate');
    databases = new Databases(rt.adminUrl, { prefix: rt.prefix, runId: rt.runId, major: rt.major });
  }
  return databases;
}

/** A database created for one test; `drop()` is idempotent. */
export interface ScratchDatabase extends AsyncDisposable {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Runs `fn` with a connected client and closes it. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database of this run. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const db = await manager().createEmpty(2);
  created.add(db.name);
  const drop = () => db.drop();
  return { name: db.name, url: db.url, drop, [Symbol.asyncDispose]: drop };
}

/** Scratch databases created here that still exist (to assert nothing is left behind). */
export async function listScratchDatabases(): Promise<string[]> {
  const rt = inject('shipgate');
  return withClient(rt.adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY 1',
      [[...created]],
    );
    return rows.map((r) => r.datname);
  });
}
