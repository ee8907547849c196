/**
 * Issue 14 #2, #3, #5: on a shared server shipgate drops only what it marked as its own, only
 * when the run that made it is dead (its lease is not held), never a template a live run uses,
 * and a DROP that meets a busy backend is retried rather than swallowed.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import { describe, expect, test } from '../fixtures/vitest.ts';
import type { Migrator } from '../plugins/migrate/migrator.ts';
import { Databases } from '../plugins/postgres/databases.ts';

function tableMigrator(table: string): Migrator {
  const hash = randomBytes(8).toString('hex');
  return {
    name: `creates ${table}`,
    hash: async () => hash,
    async migrate(url: string) {
      const c = new pg.Client(url);
      await c.connect();
      await c.query(`CREATE TABLE ${table} (id int)`);
      await c.end();
      return { applied: [table], durationUs: 0 };
    },
  };
}

/** Databases managers on one fresh prefix; each collects its log lines. Everything is dropped after. */
function managers(adminUrl: string, major: number, n: number) {
  const prefix = `sgo${randomBytes(3).toString('hex')}`;
  const made = Array.from({ length: n }, () => {
    const lines: string[] = [];
    return { dbs: new Databases(adminUrl, { prefix, major, log: (l) => lines.push(l) }), lines };
  });
  onTestFinished(async () => {
    for (const m of made) await m.dbs.close();
    const c = new pg.Client(adminUrl);
    await c.connect();
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${prefix}\\_%`,
    ]);
    for (const r of rows) {
      await c.query(`ALTER DATABASE "${r.datname}" WITH IS_TEMPLATE false`).catch(() => undefined);
      await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    }
    await c.end();
  });
  return { prefix, made };
}

async function names(adminUrl: string, prefix: string): Promise<string[]> {
  const c = new pg.Client(adminUrl);
  await c.connect();
  try {
    const { rows } = await c.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
      [`${prefix}\\_%`],
    );
    return rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}

describe('ownership and leases on a shared server', () => {
  test('look-alike databases that shipgate did not create survive the sweep and template pruning', async ({
    shipgate,
    db,
  }) => {
    const { prefix, made } = managers(shipgate.adminUrl, shipgate.major, 1);
    const a = made[0]?.dbs as Databases;
    const old = Math.floor((Date.now() - 3 * 3_600_000) / 1000).toString(36);
    const lookAlikes = [
      `${prefix}_t_1_deadbeef_x`,
      `${prefix}_k_1_abcd_1`,
      `${prefix}_t_${old}_deadbeef_1_1`,
      `${prefix}_k_${old}_deadbeef_1_1`,
      `${prefix}_tpl_customer`,
      `${prefix}_tpl_0123456789abcdef`,
    ];
    for (const n of lookAlikes) await db.query(`CREATE DATABASE "${n}"`);
    // A comment that is not shipgate's mark proves nothing either.
    await db.query(`COMMENT ON DATABASE "${prefix}_k_1_abcd_1" IS '{"shipgate":"someone else"}'`);
    expect(await a.sweep(0)).toEqual([]);
    process.env.SHIPGATE_KEEP_TEMPLATES = '1';
    onTestFinished(() => {
      delete process.env.SHIPGATE_KEEP_TEMPLATES;
    });
    await a.ensureTemplate(tableMigrator('one'));
    await a.ensureTemplate(tableMigrator('two'));
    const left = await names(shipgate.adminUrl, prefix);
    for (const n of lookAlikes) expect(left).toContain(n);
  });

  test("a dead run's databases are swept at any age and each name is logged; a live run's are not, however old", async ({
    shipgate,
  }) => {
    const { prefix, made } = managers(shipgate.adminUrl, shipgate.major, 3);
    const [sweeper, live, dead] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    const liveDb = await live.dbs.createEmpty();
    const deadDb = await dead.dbs.createEmpty();
    await dead.dbs.close(); // the run ends without dropping: its lease goes with its connection
    const swept = await sweeper.dbs.sweep(0);
    expect(swept).toEqual([deadDb.name]);
    expect(sweeper.lines.join('\n')).toContain(`swept "${deadDb.name}"`);
    const left = await names(shipgate.adminUrl, prefix);
    expect(left).toContain(liveDb.name);
    expect(left).not.toContain(deadDb.name);
  });

  test('a killed run (its process gone, its lease released by the server) is swept by the next run', async ({
    shipgate,
  }) => {
    const { prefix, made } = managers(shipgate.adminUrl, shipgate.major, 1);
    const sweeper = made[0]?.dbs as Databases;
    const { spawn } = await import('node:child_process');
    const script = `
      import { Databases } from ${JSON.stringify(new URL('../plugins/postgres/databases.ts', import.meta.url).pathname)};
      const d = new Databases(process.env.URL, { prefix: process.env.PREFIX, major: Number(process.env.MAJOR) });
      const db = await d.createEmpty();
      console.log(db.name);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, URL: shipgate.adminUrl, PREFIX: prefix, MAJOR: String(shipgate.major) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const name = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (b: Buffer) => resolve(b.toString().trim()));
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect(await sweeper.sweep(0)).toEqual([]); // alive: left alone
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    let swept: string[] = [];
    for (let i = 0; i < 50 && swept.length === 0; i++) {
      swept = await sweeper.sweep(0);
      if (!swept.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(swept).toEqual([name]);
    expect(await names(shipgate.adminUrl, prefix)).not.toContain(name);
  });

  test('a template that a live run uses is not pruned by a newer build with keep = 1; once that run ends it is', async ({
    shipgate,
  }) => {
    const { prefix, made } = managers(shipgate.adminUrl, shipgate.major, 2);
    const [liveRun, newer] = made as [(typeof made)[0], (typeof made)[0]];
    process.env.SHIPGATE_KEEP_TEMPLATES = '1';
    onTestFinished(() => {
      delete process.env.SHIPGATE_KEEP_TEMPLATES;
    });
    const used = await liveRun.dbs.ensureTemplate(tableMigrator('old_shape'));
    await newer.dbs.ensureTemplate(tableMigrator('new_shape'));
    expect(await names(shipgate.adminUrl, prefix)).toContain(used.name);
    // The live run can still clone from it.
    const clone = await liveRun.dbs.clone(used.name);
    expect((await clone.query('SELECT count(*)::int AS n FROM old_shape')).rows[0]?.n).toBe(0);
    await clone.drop();
    await liveRun.dbs.close();
    await newer.dbs.ensureTemplate(tableMigrator('newest_shape'));
    expect(await names(shipgate.adminUrl, prefix)).not.toContain(used.name);
    expect(newer.lines.join('\n')).toContain(`pruned template "${used.name}"`);
  });

  test('a database named like a template but not marked is refused, not reused or dropped', async ({
    shipgate,
    db,
  }) => {
    const { made } = managers(shipgate.adminUrl, shipgate.major, 1);
    const a = made[0]?.dbs as Databases;
    const m = tableMigrator('x');
    // Build once to learn the name, then replace it by an unmarked look-alike of that name.
    const tpl = await a.ensureTemplate(m);
    await a.dropByName(tpl.name);
    await db.query(`CREATE DATABASE "${tpl.name}"`);
    await expect(a.ensureTemplate(m)).rejects.toThrow(`Database "${tpl.name}" exists`);
    expect(await names(shipgate.adminUrl, tpl.name.split('_')[0] as string)).toContain(tpl.name);
  });
});

describe('dropping a busy database', () => {
  test('a DROP that meets a backend which outlives FORCE is retried, not swallowed', async ({ shipgate, skip }) => {
    skip(
      shipgate.provider !== 'embedded',
      `needs the server's backend pids on this host (provider "${shipgate.provider}", not embedded)`,
    );
    const { made } = managers(shipgate.adminUrl, shipgate.major, 1);
    const a = made[0]?.dbs as Databases;
    const victim = await a.createEmpty();
    const busy = new pg.Client(victim.url);
    busy.on('error', () => {});
    await busy.connect();
    const pid = (await busy.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
    // A stopped backend cannot act on FORCE's SIGTERM within its 5 s; it resumes 6 s later.
    process.kill(pid, 'SIGSTOP');
    const resume = setTimeout(() => process.kill(pid, 'SIGCONT'), 6_000);
    onTestFinished(() => {
      clearTimeout(resume);
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    });
    await a.dropByName(victim.name);
    expect(await names(shipgate.adminUrl, a.prefix)).not.toContain(victim.name);
  }, 60_000);
});
