import express from 'express';
import { describe, test } from '../../fixtures/vitest.ts';

/**
 * Observed from outside by specs/queries/default-check.test.ts: an app on raw pg (no ORM) with
 * an N+1 route (one query per user for its email) and a route that loads the same rows in one.
 */
test.override('app', ({ db }) => {
  const app = express();
  app.get('/users/n-plus-one', async (_req, res) => {
    const { rows } = await db.pool.query<{ id: number }>('SELECT id FROM users ORDER BY id');
    const out = [];
    for (const r of rows) out.push((await db.pool.query('SELECT email FROM users WHERE id = $1', [r.id])).rows[0]);
    res.json(out);
  });
  app.get('/users/joined', async (_req, res) => {
    res.json((await db.pool.query('SELECT id, email FROM users ORDER BY id')).rows);
  });
  // The project's Register types `app` as the example's; this spec app has no log lines.
  return app as never;
});

const seed = (db: { query(text: string): Promise<unknown> }) =>
  db.query(
    `INSERT INTO users (email, name) VALUES ('a@x.test', 'A'), ('b@x.test', 'B'), ('c@x.test', 'C') ON CONFLICT DO NOTHING`,
  );

test('the N+1 route, checked', async ({ db, request }) => {
  await seed(db);
  await request.get('/users/n-plus-one').expect(200);
});

test('the joined route, checked', async ({ db, request }) => {
  await seed(db);
  await request.get('/users/joined').expect(200);
});

describe('with the shape allowed', () => {
  test.override({ queryCheck: { allow: ['FROM users WHERE id'], reason: 'known, batched in the next release' } });
  test('the N+1 route, its shape allowed', async ({ db, request }) => {
    await seed(db);
    await request.get('/users/n-plus-one').expect(200);
  });
});

describe('with the check off', () => {
  test.override({ queryCheck: false });
  test('the N+1 route, check off', async ({ db, request }) => {
    await seed(db);
    await request.get('/users/n-plus-one').expect(200);
  });
});
