import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../fixtures/vitest.ts';
import { DatabaseError } from '../plugins/core/errors.ts';
import type { Migrator } from '../plugins/migrate/migrator.ts';
import { Databases } from '../plugins/postgres/databases.ts';
import { checkConnectionCapacity } from '../plugins/session.ts';

/** A counting function migrator with a unique hash, so each test builds its own template. */
function countingMigrator(): Migrator & { calls: number } {
  const hash = randomBytes(8).toString('hex');
  const m = {
    name: 'counting',
    calls: 0,
    hash: async () => hash,
    async migrate(url: string) {
      m.calls += 1;
      const c = new pg.Client(url);
      await c.connect();
      await c.query('CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL)');
      await c.query("INSERT INTO widgets (name) VALUES ('from template')");
      await c.end();
      return { applied: ['widgets'], durationUs: 0 };
    },
  };
  return m;
}

function managers(adminUrl: string, major: number, n: number): Databases[] {
  const prefix = `sgl${randomBytes(3).toString('hex')}`;
  const list = Array.from({ length: n }, () => new Databases(adminUrl, { prefix, major }));
  onTestFinished(async () => {
    const [first] = list;
    if (first) for (const d of await first.list()) await first.dropByName(d.name);
    for (const d of list) await d.close();
  });
  return list;
}

describe('template and clones', () => {
  test('parallel builders build the template once under the advisory lock', async ({ shipgate }) => {
    const [a, b, c] = managers(shipgate.adminUrl, shipgate.major, 3) as [Databases, Databases, Databases];
    const migrator = countingMigrator();
    const results = await Promise.all([
      a.ensureTemplate(migrator),
      b.ensureTemplate(migrator),
      c.ensureTemplate(migrator),
    ]);
    expect(migrator.calls).toBe(1);
    expect(results.filter((r) => r.built)).toHaveLength(1);
    expect(new Set(results.map((r) => r.name)).size).toBe(1);
  });

  test('an unchanged template is reused by a later run; a changed hash builds a new one', async ({ shipgate }) => {
    const [a, b] = managers(shipgate.adminUrl, shipgate.major, 2) as [Databases, Databases];
    const migrator = countingMigrator();
    const first = await a.ensureTemplate(migrator);
    const again = await b.ensureTemplate(migrator);
    expect([first.built, again.built]).toEqual([true, false]);
    expect(again.name).toBe(first.name);
    const other = countingMigrator();
    const changed = await b.ensureTemplate(other);
    expect(changed.built).toBe(true);
    expect(changed.name).not.toBe(first.name);
  });

  test('a clone carries the template data and is independent of other clones', async ({ shipgate }) => {
    const [a] = managers(shipgate.adminUrl, shipgate.major, 1) as [Databases];
    const tpl = await a.ensureTemplate(countingMigrator());
    const one = await a.clone(tpl.name);
    const two = await a.clone(tpl.name);
    await one.query("INSERT INTO widgets (name) VALUES ('only in one')");
    expect((await one.query('SELECT name FROM widgets ORDER BY id')).rows.map((r) => r.name)).toEqual([
      'from template',
      'only in one',
    ]);
    expect((await two.query<{ n: number }>('SELECT count(*)::int AS n FROM widgets')).rows[0]?.n).toBe(1);
    await one.drop();
    await two.drop();
  });

  test('a failed build leaves no half-built template behind', async ({ shipgate }) => {
    const [a] = managers(shipgate.adminUrl, shipgate.major, 1) as [Databases];
    const broken: Migrator = {
      name: 'broken',
      hash: async () => randomBytes(8).toString('hex'),
      migrate: async (): Promise<never> => {
        throw new Error('migration exploded');
      },
    };
    await expect(a.ensureTemplate(broken)).rejects.toThrow('migration exploded');
    expect(await a.list()).toEqual([]);
  });
});

describe('cleanup', () => {
  test('drop() succeeds even while connections leak, terminating them first', async ({ shipgate }) => {
    const [a] = managers(shipgate.adminUrl, shipgate.major, 1) as [Databases];
    const db = await a.createEmpty();
    const leaked = new pg.Client(db.url);
    leaked.on('error', () => {});
    await leaked.connect();
    await db.drop();
    expect(await a.list()).toEqual([]);
    await leaked.end().catch(() => undefined);
  });

  // The sweep's rules (marks and leases, never names or ages) are in specs/ownership.test.ts.

  test('refuses to drop a database without its prefix', async ({ shipgate }) => {
    const [a] = managers(shipgate.adminUrl, shipgate.major, 1) as [Databases];
    await expect(a.dropByName('postgres')).rejects.toThrow(/Refusing to drop "postgres"/);
  });

  test('keep() renames to the kept prefix and returns a URL that connects', async ({ shipgate }) => {
    const [a] = managers(shipgate.adminUrl, shipgate.major, 1) as [Databases];
    const db = await a.createEmpty();
    const url = await db.keep();
    expect(url).toContain(`${a.prefix}_k_`);
    const c = new pg.Client(url);
    await c.connect();
    await c.end();
  });
});

describe('connection capacity', () => {
  test('too many workers × pool size is refused with the numbers and the fix', async ({ shipgate }) => {
    const err = await checkConnectionCapacity(shipgate.adminUrl, 500, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError).code).toBe('SHIPGATE_DB_CAPACITY');
    expect((err as Error).message).toMatch(
      /500 workers × \(poolSize 10 \+ 3\) \+ 4 = 6504 needed, \d+ free \(max_connections \d+/,
    );
    expect((err as Error).message).toContain('SHIPGATE_PG_MAX_CONNECTIONS');
  });

  test('a fitting configuration passes', async ({ shipgate }) => {
    await expect(checkConnectionCapacity(shipgate.adminUrl, 2, 5)).resolves.toBeUndefined();
  });
});
