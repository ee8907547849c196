import type { IncomingMessage, ServerResponse } from 'node:http';
import pg from 'pg';

/** The app under test in the matrix's Playwright project: GET /items lists the worker database's rows. */
export function createApp({ db }: { db: { url: string } }) {
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // The worker's database is dropped at teardown, terminating idle connections: not an error here.
  pool.on('error', () => {});
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/items') {
      res.writeHead(404).end();
      return;
    }
    const { rows } = await pool.query<{ name: string }>('SELECT "name" FROM "Item" ORDER BY "id"');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows.map((r) => r.name)));
  };
}
