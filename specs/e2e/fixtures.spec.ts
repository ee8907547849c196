import { readdirSync } from 'node:fs';
import path from 'node:path';
import './register.ts';
import { expect, test } from '../../fixtures/playwright.ts';
import { nth } from './seed.ts';

test.describe('shipgate fixtures', () => {
  test('each worker has its own clone of the template and an app server wired to it', async ({
    session,
    database,
    appServer,
    baseURL,
    request,
  }) => {
    expect(database.name).toMatch(new RegExp(`^${session.prefix}_t_[0-9a-z]+_${session.runId}_`));
    expect(baseURL).toBe(appServer.url);
    expect(appServer.url).toBe(`http://127.0.0.1:${appServer.port}`);
    expect(appServer.mode).toBe('process');
    const { rows } = await database.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(database.name);
    // The server is connected to exactly this database: a row written through it is in it.
    const user = await request.post('/api/users', { data: { email: 'probe@e2e.example.test', name: 'Probe' } });
    expect(user.status()).toBe(201);
    const found = await database.query('SELECT name FROM users WHERE email = $1', ['probe@e2e.example.test']);
    expect(found.rows).toEqual([{ name: 'Probe' }]);
    expect(appServer.setupMs).toBeGreaterThan(0);
  });

  test('seed creates data through the app’s data layer and returns it', async ({ seed, prisma, page }) => {
    const created = await seed({ agents: 1, customers: 1, tickets: [{ title: 'Seeded ticket', priority: 'urgent' }] });
    expect(created.agents.map((u) => u.role)).toEqual(['admin']);
    expect(created.customers.map((u) => u.name)).toEqual(['Cleo Customer']);
    expect(created.tickets).toHaveLength(1);
    expect(await prisma.ticket.findUniqueOrThrow({ where: { id: nth(created.tickets).id } })).toMatchObject({
      title: 'Seeded ticket',
      priority: 'urgent',
      authorId: nth(created.customers).id,
    });
    await page.goto(`/tickets/${nth(created.tickets).id}`);
    await expect(page.getByTestId('ticket-title')).toHaveText('Seeded ticket');
    // A second call in the same test does not collide with the first.
    const more = await seed({ agents: 0, customers: 1 });
    expect(nth(more.customers).email).not.toBe(nth(created.customers).email);
  });

  test.describe('reset', () => {
    test.describe.configure({ mode: 'serial' });

    test('a test writes rows', async ({ seed, db }) => {
      await seed({ tickets: [{ title: 'left behind?' }] });
      expect(await db.rows('SELECT title FROM tickets')).toEqual([{ title: 'left behind?' }]);
    });

    test('the next test in the same worker starts from the template again', async ({ db }) => {
      expect(await db.rows('SELECT count(*)::int AS n FROM tickets')).toEqual([{ n: 0 }]);
      expect(await db.rows('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 0 }]);
      // …but the migration history, which came with the template, is still there.
      const history = await db.rows<{ migration_name: string }>(
        'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name',
      );
      const folders = readdirSync(path.join(import.meta.dirname, '../../example/prisma/migrations'))
        .filter((f) => /^\d{14}_/.test(f))
        .sort();
      expect(history.map((h) => h.migration_name)).toEqual(folders);
      expect(folders).toContain('20250104000000_jobs');
    });
  });

  test.describe('reset: none', () => {
    test.describe.configure({ mode: 'serial' });
    test.use({ reset: 'none' });

    test('writes a row', async ({ db }) => {
      await db.query("INSERT INTO users (email, name) VALUES ('kept@e2e.example.test', 'Kept')");
    });

    test('sees the row of the test before', async ({ db }) => {
      expect(await db.rows("SELECT name FROM users WHERE email = 'kept@e2e.example.test'")).toEqual([{ name: 'Kept' }]);
    });
  });
});
