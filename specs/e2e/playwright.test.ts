import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import type { WorkerRecord } from '../../plugins/playwright/worker.ts';
import { Databases } from '../../plugins/postgres/databases.ts';
import { RUN_LABEL, testcontainersProvider } from '../../plugins/postgres/testcontainers.ts';
import { childPrefix, dropPrefix } from '../child-vitest.ts';
import { runPlaywright } from './child/run.ts';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * The Playwright fixtures end to end: child `playwright test` runs of specs/e2e/child against
 * this run's Postgres (external provider, a fresh prefix), then a look at what they reported
 * and what they left behind.
 */
interface JsonResult {
  status: string;
  retry: number;
  attachments: { name: string; path?: string; contentType: string }[];
  annotations: { type: string; description?: string }[];
}
interface JsonTest {
  title: string;
  status: string;
  results: JsonResult[];
}
interface Child {
  code: number | null;
  output: string;
  report: string;
  tests: Map<string, JsonTest>;
  workers: WorkerRecord[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runChild(env: NodeJS.ProcessEnv): Promise<Child> {
  const report = mkdtempSync(path.join(tmpdir(), 'shipgate-pw-child-'));
  const json = path.join(report, 'results.json');
  const { code, output } = await runPlaywright(['test', '--config', 'specs/e2e/child/playwright.config.ts'], {
    SHIPGATE_REPORT_DIR: report,
    CHILD_JSON: json,
    ...env,
  });
  const tests = new Map<string, JsonTest>();
  if (existsSync(json)) {
    type Suite = { specs?: { title: string; tests: Omit<JsonTest, 'title'>[] }[]; suites?: Suite[] };
    const walk = (s: Suite) => {
      for (const spec of s.specs ?? []) for (const t of spec.tests) tests.set(spec.title, { title: spec.title, ...t });
      for (const c of s.suites ?? []) walk(c);
    };
    for (const s of (JSON.parse(readFileSync(json, 'utf8')) as { suites: Suite[] }).suites) walk(s);
  }
  const dir = path.join(report, 'playwright', 'workers');
  const workers = existsSync(dir)
    ? readdirSync(dir).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as WorkerRecord)
    : [];
  return { code, output, report, tests, workers };
}

/** Databases under `prefix`; templates only when `templates` (a run keeps its template for the next). */
async function leftovers(adminUrl: string, major: number, prefix: string, templates = false): Promise<string[]> {
  const dbs = new Databases(adminUrl, { prefix, major });
  try {
    return (await dbs.list()).filter((d) => templates || d.kind !== 'tpl').map((d) => d.name);
  } finally {
    await dbs.close();
  }
}

function external(adminUrl: string, prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { SHIPGATE_PROVIDER: 'external', SHIPGATE_DATABASE_URL: adminUrl, SHIPGATE_DB_PREFIX: prefix, ...extra };
}

test('failures keep trace, screenshot and the failing request’s log lines; a pass on retry is flaky; one database per worker; nothing left behind', async ({
  shipgate,
}) => {
  const prefix = childPrefix();
  const run = await runChild(external(shipgate.adminUrl, prefix, { CI: '1', CHILD_CASE: 'ok' }));
  try {
    expect(run.code, run.output).toBe(1);
    expect([...run.tests.values()].map((t) => [t.title, t.status])).toEqual([
      ['passes', 'expected'],
      ['fails on a server error, with artifacts', 'unexpected'],
      ['passes on retry', 'flaky'],
    ]);

    // The failure: both attempts (CI retries once) keep a trace, a screenshot and the log lines
    // of the request that failed, found by the trace id the app answered with.
    const failed = run.tests.get('fails on a server error, with artifacts') as JsonTest;
    expect(failed.results.map((r) => r.status)).toEqual(['failed', 'failed']);
    for (const result of failed.results) {
      const byName = new Map(result.attachments.map((a) => [a.name, a]));
      expect([...byName.keys()]).toEqual(expect.arrayContaining(['trace', 'screenshot', 'server-log']));
      expect(
        readFileSync(byName.get('trace')?.path as string)
          .subarray(0, 2)
          .toString(),
      ).toBe('PK');
      expect(
        readFileSync(byName.get('screenshot')?.path as string)
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
      const lines = readFileSync(byName.get('server-log')?.path as string, 'utf8')
        .trim()
        .split('\n');
      expect(lines.map((l) => JSON.parse(l))).toEqual([
        expect.objectContaining({ traceId: 'child-failing-request', status: 500, level: 'error', path: '/tickets' }),
      ]);
      expect(result.annotations).toContainEqual({ type: 'shipgate:trace-id', description: 'child-failing-request' });
    }
    const flaky = run.tests.get('passes on retry') as JsonTest;
    expect(flaky.results.map((r) => [r.retry, r.status])).toEqual([
      [0, 'failed'],
      [1, 'passed'],
    ]);

    // Workers: two in parallel at first, then a fresh one after each failure; every one had its
    // own clone and its own server, and kept its server log.
    expect(run.workers.length).toBeGreaterThanOrEqual(3);
    expect(new Set(run.workers.map((w) => w.database)).size).toBe(run.workers.length);
    expect(new Set(run.workers.map((w) => w.appUrl)).size).toBe(run.workers.length);
    expect(new Set(run.workers.map((w) => w.parallelIndex))).toEqual(new Set([0, 1]));
    const passed = run.tests.get('passes') as JsonTest;
    const passedDb = passed.results[0]?.annotations.find((a) => a.type === 'database')?.description;
    expect(run.workers.map((w) => w.database)).toContain(passedDb);
    for (const w of run.workers) {
      expect(w.database.startsWith(`${prefix}_t_`)).toBe(true);
      // The app boots while the template is copied, so setup covers the longer of the two.
      expect(w.setupUs).toBeGreaterThanOrEqual(Math.max(w.cloneUs, w.appStartUs));
      expect(readFileSync(w.serverLog, 'utf8')).toMatch(/"event":"listening"/);
      expect(w.appPid && alive(w.appPid), `app server ${w.appPid} still running`).toBe(false);
    }
    expect(await leftovers(shipgate.adminUrl, shipgate.major, prefix)).toEqual([]);
  } finally {
    rmSync(run.report, { recursive: true, force: true });
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  }
});

test('bad config: every problem is reported at once, before anything starts', async ({ shipgate }) => {
  const prefix = childPrefix();
  const run = await runChild(
    external(shipgate.adminUrl, prefix, {
      CI: '',
      CHILD_CASE: 'bad-config',
      SHIPGATE_MIGRATIONS_DIR: 'no/such/migrations',
    }),
  );
  try {
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('Invalid shipgate configuration (4 problems)');
    expect(run.output).toMatch(/shipgate\.migrator\.migrationsDir ".*no\/such\/migrations" does not exist/);
    expect(run.output).toContain('app is not set: use.app = { command } or { factory }');
    expect(run.output).toMatch(/seeder module ".*no\/such\/seeder\.ts" does not exist/);
    expect(run.output).toContain('reset is "sometimes"; expected truncate or none');
    expect(run.workers).toEqual([]);
    expect(await leftovers(shipgate.adminUrl, shipgate.major, prefix, true)).toEqual([]);
  } finally {
    rmSync(run.report, { recursive: true, force: true });
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  }
});

test('an app server that exits on start fails its tests with the exit code and its last lines; its clone is dropped', async ({
  shipgate,
}) => {
  const prefix = childPrefix();
  const run = await runChild(external(shipgate.adminUrl, prefix, { CI: '', CHILD_CASE: 'crash' }));
  try {
    expect(run.code).toBe(1);
    expect(run.output).toContain('exited with code 3 before it was ready');
    expect(run.output).toContain('boom: cannot bind');
    expect(run.output).toContain('Check use.app.command');
    expect(run.workers).toEqual([]);
    expect(await leftovers(shipgate.adminUrl, shipgate.major, prefix)).toEqual([]);
  } finally {
    rmSync(run.report, { recursive: true, force: true });
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  }
});

test('a missing browser is an error that names SHIPGATE_CHROMIUM', async ({ shipgate }) => {
  const prefix = childPrefix();
  const run = await runChild(
    external(shipgate.adminUrl, prefix, { CI: '', CHILD_CASE: 'ok', SHIPGATE_CHROMIUM: '/nonexistent/chromium' }),
  );
  try {
    expect(run.code).toBe(1);
    expect(run.output).toContain('SHIPGATE_CHROMIUM is "/nonexistent/chromium", which does not exist.');
    expect(await leftovers(shipgate.adminUrl, shipgate.major, prefix)).toEqual([]);
  } finally {
    rmSync(run.report, { recursive: true, force: true });
    await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
  }
});

/** Containers a child run (runner pid `pid`) left behind, by testcontainers' run label. */
async function containersOf(pid: number): Promise<string[]> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const list = await client.container.dockerode.listContainers({ all: true, filters: { label: [RUN_LABEL] } });
  return list.filter((c) => c.Labels[RUN_LABEL]?.startsWith(`${pid}-`)).map((c) => c.Id);
}

const docker = await testcontainersProvider.available({});

describe('Ctrl-C mid-run: app servers, clones and the session go away', () => {
  test('on an existing server (external)', async ({ shipgate }) => {
    const prefix = childPrefix();
    try {
      const run = await interrupted(external(shipgate.adminUrl, prefix, { CI: '', CHILD_CASE: 'interrupt' }), () =>
        leftovers(shipgate.adminUrl, shipgate.major, prefix),
      );
      expect(run.before).toHaveLength(2);
      expect(await leftovers(shipgate.adminUrl, shipgate.major, prefix)).toEqual([]);
    } finally {
      await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
    }
  });

  test.skipIf(!docker.ok)(
    `with its own container (testcontainers)${docker.ok ? '' : ` [skipped: ${docker.reason}]`}`,
    async () => {
      const run = await interrupted({ CI: '', CHILD_CASE: 'interrupt', SHIPGATE_PROVIDER: 'testcontainers' }, (pid) =>
        containersOf(pid),
      );
      expect(run.before).toHaveLength(1);
      expect(await containersOf(run.pid)).toEqual([]);
    },
  );
});

/**
 * Runs the slow child, waits until both tests are mid-way, notes `probe()` (what should go
 * away), sends SIGINT to the child's process group — as a terminal's Ctrl-C does: the runner,
 * its workers and the browsers — and checks the app servers are gone once it exits.
 */
async function interrupted<T>(
  env: NodeJS.ProcessEnv,
  probe: (pid: number) => Promise<T>,
): Promise<{ before: T; pid: number }> {
  const report = mkdtempSync(path.join(tmpdir(), 'shipgate-pw-child-'));
  const child = spawn(
    path.join(root, 'node_modules', '.bin', 'playwright'),
    ['test', '--config', 'specs/e2e/child/playwright.config.ts'],
    {
      cwd: root,
      detached: true,
      env: {
        ...process.env,
        ...env,
        FORCE_COLOR: '0',
        SHIPGATE_REPORT_DIR: report,
        CHILD_JSON: path.join(report, 'r.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid as number;
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waiting = new Promise<void>((resolve) => {
    const on = (c: Buffer) => {
      output += c.toString();
      if ((output.match(/slow test \d is waiting/g) ?? []).length === 2) resolve();
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
  });
  try {
    await Promise.race([waiting, exited]);
    expect(child.exitCode, output).toBeNull();
    const dir = path.join(report, 'playwright', 'workers');
    const workers = readdirSync(dir).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as WorkerRecord);
    expect(workers).toHaveLength(2);
    expect(workers.every((w) => w.appPid && alive(w.appPid))).toBe(true);
    const before = await probe(pid);

    process.kill(-pid, 'SIGINT');
    expect(await exited, output).not.toBe(0);
    for (const w of workers) expect(alive(w.appPid as number), `app server ${w.appPid}`).toBe(false);
    return { before, pid };
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-pid, 'SIGKILL');
    rmSync(report, { recursive: true, force: true });
  }
}
