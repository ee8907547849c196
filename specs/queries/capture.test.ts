/**
 * The query tap on a real Postgres: every statement a client sends is seen once per run,
 * whatever the protocol (simple, extended, a named statement run again without a Parse), on
 * every connection, inside transactions; the bytes pass unchanged (results are right); a
 * TLS request gets the server's own answer; closing it ends its connections. (A connection
 * that does go TLS is opaque: plugins/queries/pg-frames.test.ts.)
 */
import pg from 'pg';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { QueryCaptureError, startQueryTap } from '../../plugins/queries/index.ts';

describe('the query tap', () => {
  test.override({ queryCheck: false });

  test('simple, extended and named statements, on two connections, with their results intact', async ({ db }) => {
    await using tap = await startQueryTap(db.url);
    const a = new pg.Client({ connectionString: tap.url(db.url) });
    const b = new pg.Client({ connectionString: tap.url(db.url) });
    await a.connect();
    await b.connect();
    try {
      expect((await a.query("SELECT 'simple' AS v")).rows).toEqual([{ v: 'simple' }]);
      expect((await a.query('SELECT $1::int + 1 AS v', [41])).rows).toEqual([{ v: 42 }]);
      for (let i = 0; i < 3; i++) {
        const r = await b.query({ name: 'by-id', text: 'SELECT $1::int AS id', values: [i] });
        expect(r.rows).toEqual([{ id: i }]);
      }
      await b.query('BEGIN');
      await b.query('CREATE TEMP TABLE t (x int)');
      await b.query('INSERT INTO t VALUES (1), (2)');
      await b.query('COMMIT');
    } finally {
      await a.end();
      await b.end();
    }
    const seen = tap.statements();
    expect(seen.map((s) => [s.conn, s.text])).toEqual([
      [1, "SELECT 'simple' AS v"],
      [1, 'SELECT $1::int + 1 AS v'],
      [2, 'SELECT $1::int AS id'],
      [2, 'SELECT $1::int AS id'],
      [2, 'SELECT $1::int AS id'],
      [2, 'BEGIN'],
      [2, 'CREATE TEMP TABLE t (x int)'],
      [2, 'INSERT INTO t VALUES (1), (2)'],
      [2, 'COMMIT'],
    ]);
    expect(seen.filter((s) => s.control).map((s) => s.text)).toEqual(['BEGIN', 'COMMIT']);
    expect(seen[2]?.shape).toBe('SELECT ?::int AS id');
    expect(seen[7]?.shape).toBe('INSERT INTO t VALUES (?)');
    expect(tap.opaqueConnections()).toBe(0);
  });

  test('a sqlcommenter traceparent tags the statement; a 2 MB parameter spans chunks and the next query is seen', async ({
    db,
  }) => {
    await using tap = await startQueryTap(db.url);
    const c = new pg.Client({ connectionString: tap.url(db.url) });
    await c.connect();
    try {
      await c.query("SELECT 1 /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/");
      await c.query('CREATE TEMP TABLE big (s text)');
      // One Bind message of 2 MB, read in many chunks: the tap keeps framing.
      await c.query('INSERT INTO big VALUES ($1)', ['x'.repeat(2_000_000)]);
      const { rows } = await c.query('SELECT count(*)::int AS n, sum(length(s))::int AS len FROM big');
      expect(rows).toEqual([{ n: 1, len: 2_000_000 }]);
    } finally {
      await c.end();
    }
    const seen = tap.statements();
    expect(seen[0]?.tag).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(seen.at(-1)?.text).toBe('SELECT count(*)::int AS n, sum(length(s))::int AS len FROM big');
  });

  test("a client that asks for TLS gets the server's answer through the tap", async ({ db }) => {
    await using tap = await startQueryTap(db.url);
    const c = new pg.Client({ connectionString: tap.url(db.url), ssl: { rejectUnauthorized: false } });
    // The test server has no TLS: it refuses, and the tap passes the refusal through.
    const err = await c.connect().then(
      () => undefined,
      (e: Error) => e,
    );
    await c.end().catch(() => {});
    expect(err?.message ?? 'connected over TLS').toMatch(/does not support SSL|connected over TLS/);
    expect(tap.statements()).toEqual([]);
  });

  test('a URL that sets its host in the query string is refused, with the fix', async ({ db }) => {
    await using tap = await startQueryTap(db.url);
    expect(() => tap.url('postgres://u:secret@127.0.0.1:5432/db?host=/tmp')).toThrow(QueryCaptureError);
    expect(() => tap.url('postgres://u:secret@127.0.0.1:5432/db?host=/tmp')).toThrow(
      /sets host or port in its query string.*SHIPGATE_QUERY_CAPTURE=0/,
    );
    expect(() => tap.url('postgres://u:secret@127.0.0.1:5432/db?host=/tmp')).not.toThrow(/secret/);
  });

  test('closing the tap ends its connections', async ({ db }) => {
    const tap = await startQueryTap(db.url);
    const c = new pg.Client({ connectionString: tap.url(db.url) });
    c.on('error', () => {});
    await c.connect();
    await tap.close();
    await expect(c.query('SELECT 1')).rejects.toThrow();
    await c.end().catch(() => {});
  });
});
