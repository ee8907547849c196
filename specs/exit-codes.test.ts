/**
 * The exit-code matrix: each entry point runs as a real child process, under each provider
 * that is available here, with a passing and a failing input. A gate that exits 0 on a failing
 * run is worse than no gate, so this asserts the exit code, the last line of output, and that
 * the child left no server dir or database behind. The embedded column always runs: it is what
 * most users get. A new entry point joins ENTRY_POINTS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { describe, expect, test } from '../fixtures/vitest.ts';
import { testcontainersProvider } from '../plugins/postgres/testcontainers.ts';
import { writeRecords } from '../plugins/report/records.ts';
import { childPrefix } from './child-vitest.ts';

const root = path.resolve(import.meta.dirname, '..');
const SHOP = path.join(root, 'specs', 'smoke', 'fixtures', 'shop', 'migrations');
const COLUMN_DROP = path.join(root, 'specs', 'smoke', 'fixtures', 'cases', 'column-drop');
const vitestBin = path.join(root, 'node_modules', '.bin', 'vitest');
const cli = path.join(root, 'plugins', 'cli', 'shipgate.ts');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  lastLine: string;
  pid: number;
}

const reportDirs: string[] = [];
afterAll(() => {
  for (const d of reportDirs) rmSync(d, { recursive: true, force: true });
});
function reportDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'shipgate-exit-report-'));
  reportDirs.push(d);
  return d;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(cmd, args, {
    cwd: root,
    env: {
      ...process.env,
      CI: 'true',
      FORCE_COLOR: '0',
      NO_COLOR: '1',
      SHIPGATE_REPORT_DIR: reportDir(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const done = new Promise<Run>((resolve) =>
    child.on('exit', (code, signal) => {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
      const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
      const lines = clean.split('\n').filter((l) => l.trim() !== '');
      resolve({ code, signal, output: clean, lastLine: lines.at(-1) ?? '', pid: child.pid ?? -1 });
    }),
  );
  return { child, done };
}

/** Server dirs the embedded provider made for process `pid` and did not remove. */
function leftDirs(pid: number): string[] {
  return ['/dev/shm', tmpdir()].flatMap((parent) =>
    existsSync(parent)
      ? readdirSync(parent)
          .filter((n) => n.startsWith(`shipgate-pg-${pid}-`))
          .map((n) => path.join(parent, n))
      : [],
  );
}

async function leftDatabases(adminUrl: string, prefix: string): Promise<string[]> {
  const c = new pg.Client(adminUrl);
  await c.connect();
  try {
    const r = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${prefix}%`,
    ]);
    // Templates are kept on purpose (the next run reuses them); drop them here, report the rest.
    const left: string[] = [];
    for (const { datname } of r.rows) {
      if (datname.startsWith(`${prefix}_tpl_`)) {
        await c.query(`ALTER DATABASE "${datname}" WITH IS_TEMPLATE false`);
        await c.query(`DROP DATABASE "${datname}" WITH (FORCE)`);
      } else left.push(datname);
    }
    return left;
  } finally {
    await c.end();
  }
}

type Provider = 'embedded' | 'testcontainers' | 'external';
const docker = await testcontainersProvider.available({});

interface EntryPoint {
  name: string;
  /** `verdict` must appear in the output; `last` is the last line. */
  pass: { args: string[]; code: number; last: RegExp; verdict?: RegExp };
  fail: { args: string[]; code: number; last: RegExp; verdict?: RegExp };
  cmd: string;
}

/** The shop's migrations plus one that drops a column holding data. */
function headDropsColumn(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-exit-head-'));
  cpSync(SHOP, dir, { recursive: true });
  for (const f of readdirSync(COLUMN_DROP)) cpSync(path.join(COLUMN_DROP, f), path.join(dir, f), { recursive: true });
  return dir;
}

const head = headDropsColumn();
afterAll(() => rmSync(head, { recursive: true, force: true }));
const smokeArgs = (h: string) => ['migrate', 'smoke', '--base', SHOP, '--head', h, '--no-schema', '--no-squawk'];

const ENTRY_POINTS: EntryPoint[] = [
  {
    name: 'vitest run',
    cmd: vitestBin,
    pass: {
      args: ['run', '--config', 'specs/fixtures-vitest/vitest.config.ts', 'passes.fixture'],
      code: 0,
      last: /Duration/,
    },
    fail: {
      args: ['run', '--config', 'specs/fixtures-vitest/vitest.config.ts', 'fails-in-file.fixture'],
      code: 1,
      last: /Duration/,
    },
  },
  {
    name: 'shipgate migrate smoke',
    cmd: process.execPath,
    pass: {
      args: [cli, ...smokeArgs(SHOP)],
      code: 0,
      last: /migration smoke JSON in/,
      verdict: /shipgate migrate smoke: SAFE \(exit 0\)/,
    },
    fail: {
      args: [cli, ...smokeArgs(head)],
      code: 2,
      last: /migration smoke JSON in/,
      verdict: /shipgate migrate smoke: UNSAFE \(exit 2\)/,
    },
  },
];

const providers: Provider[] = ['embedded', 'external', ...(docker.ok ? (['testcontainers'] as const) : [])];

describe.each(providers)('provider %s', (provider) => {
  const envFor = (adminUrl: string, prefix: string): NodeJS.ProcessEnv =>
    provider === 'external'
      ? { SHIPGATE_PROVIDER: 'external', SHIPGATE_DATABASE_URL: adminUrl, SHIPGATE_DB_PREFIX: prefix }
      : { SHIPGATE_PROVIDER: provider, SHIPGATE_DATABASE_URL: '', SHIPGATE_DB_PREFIX: prefix };

  for (const ep of ENTRY_POINTS) {
    for (const outcome of ['pass', 'fail'] as const) {
      test(`${ep.name} · ${outcome} → exit ${ep[outcome].code}`, async ({ shipgate }) => {
        const prefix = childPrefix();
        const run = await start(ep.cmd, ep[outcome].args, envFor(shipgate.adminUrl, prefix)).done;
        expect(run.code, run.output).toBe(ep[outcome].code);
        expect(run.lastLine, run.output).toMatch(ep[outcome].last);
        if (ep[outcome].verdict) expect(run.output).toMatch(ep[outcome].verdict as RegExp);
        expect(leftDirs(run.pid)).toEqual([]);
        expect(await leftDatabases(shipgate.adminUrl, prefix)).toEqual([]);
      });
    }
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`vitest run · ${signal} mid-test → exit ${code}, says so, leaves nothing`, async ({ shipgate }) => {
      const prefix = childPrefix();
      const { child, done } = start(
        vitestBin,
        ['run', '--config', 'specs/fixtures-vitest/vitest.config.ts', 'waits.fixture'],
        envFor(shipgate.adminUrl, prefix),
      );
      let sent = false;
      child.stdout?.on('data', (d: Buffer) => {
        if (!sent && d.toString().includes('SHIPGATE_CHILD_READY')) {
          sent = true;
          child.kill(signal);
        }
      });
      const run = await done;
      expect(sent, run.output).toBe(true);
      expect(run.code, run.output).toBe(code);
      expect(run.output).toMatch(new RegExp(`interrupted by ${signal}`));
      // The reaper finishes what a hard exit skipped; give it its polling interval.
      for (let i = 0; i < 50 && leftDirs(run.pid).length; i++) await new Promise((r) => setTimeout(r, 200));
      expect(leftDirs(run.pid)).toEqual([]);
      for (let i = 0; i < 50 && (await leftDatabases(shipgate.adminUrl, prefix)).length; i++) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await leftDatabases(shipgate.adminUrl, prefix)).toEqual([]);
    });
  }
});

describe('provider-free entry points', () => {
  test('shipgate report: exit 2 with a failed record, 0 without; the last line is the summary', async () => {
    for (const [status, code] of [
      ['failed', 2],
      ['passed', 0],
    ] as const) {
      const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-exit-report-'));
      try {
        const saved = process.env.SHIPGATE_REPORT_DIR;
        process.env.SHIPGATE_REPORT_DIR = dir;
        try {
          writeRecords('exit-matrix', [
            { id: `t › ${status}`, kind: 'test', runner: 'vitest', name: status, suite: [], status, durationMs: 1 },
          ]);
        } finally {
          if (saved === undefined) delete process.env.SHIPGATE_REPORT_DIR;
          else process.env.SHIPGATE_REPORT_DIR = saved;
        }
        const run = await start(process.execPath, [cli, 'report', dir, '--sinks', 'console'], {}).done;
        expect(run.code, run.output).toBe(code);
        expect(run.lastLine).toMatch(
          new RegExp(`^shipgate: ${status === 'passed' ? 1 : 0} passed, ${code ? 1 : 0} failed`),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('an unknown flag is a usage error: exit 64, no stack', async () => {
    const run = await start(process.execPath, [cli, 'report', '--no-such-flag'], {}).done;
    expect(run.code).toBe(64);
    expect(run.output).toMatch(/Unknown option '--no-such-flag'/);
    expect(run.output).not.toMatch(/\n\s+at /);
  });
});
