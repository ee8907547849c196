import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { packRelease } from '../../scripts/release-pack.ts';
import { appInstalls, exec, installApp, lastLine } from './apps.ts';

/**
 * shipgate as a user gets it: packed to a tarball (`pnpm release:pack`), installed into two
 * third-party apps outside this repo, then run through their own entry points.
 *   - esm-ts: an ESM TypeScript app;
 *   - cjs-express: an Express 4 app in CommonJS JavaScript on Prisma 7 (prisma-client-js,
 *     @prisma/adapter-pg, a 2021 migration), whose files are the README's adoption example:
 *     its fixtures with rollback
 *     isolation, one budget, `shipgate test`, `shipgate report` and `shipgate migrate smoke`.
 * Each app is installed with npm and with pnpm; the full checks run on one of them, the
 * install, the tests and `shipgate test` on both.
 * Each run gets its own embedded data dir parent (SHIPGATE_EMBEDDED_DIR), checked empty after.
 */

const made: string[] = [];
let tarball = '';

beforeAll(() => {
  const out = mkdtempSync(path.join(tmpdir(), 'shipgate-pack-'));
  made.push(out);
  tarball = packRelease(out).tarball;
}, 180_000);

afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** The README's `<!-- readme-test: file -->` blocks, by file. */
function readmeBlocks(): Map<string, string> {
  const readme = readFileSync(path.resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- readme-test: (\S+) -->\n```(?:js|ts)\n([\s\S]*?)```/g)) {
    blocks.set(m[1] as string, m[2] as string);
  }
  return blocks;
}

/** Env for one run in the app: its own data dir parent, the provider embedded unless set. */
function runEnv(extra: NodeJS.ProcessEnv = {}): { env: NodeJS.ProcessEnv; dataParent: string } {
  const dataParent = mkdtempSync(path.join(tmpdir(), 'shipgate-consumer-pg-'));
  made.push(dataParent);
  return {
    dataParent,
    env: {
      SHIPGATE_PROVIDER: process.env.SHIPGATE_PROVIDER ?? 'embedded',
      // The machine's image, for a run on the testcontainers provider.
      ...(process.env.SHIPGATE_PG_IMAGE ? { SHIPGATE_PG_IMAGE: process.env.SHIPGATE_PG_IMAGE } : {}),
      SHIPGATE_EMBEDDED_DIR: dataParent,
      // The parent run's report and run id are not the app's.
      SHIPGATE_REPORT_DIR: '',
      SHIPGATE_RUN_ID: '',
      ...extra,
    },
  };
}

const bin = (dir: string, name: string) => path.join(dir, 'node_modules', '.bin', name);

function recordFiles(dir: string): { name: string; records: { status: string }[]; run?: string }[] {
  const d = path.join(dir, '.shipgate', 'report', 'records');
  return readdirSync(d).map((name) => ({ name, ...JSON.parse(readFileSync(path.join(d, name), 'utf8')) }));
}

describe.each([
  ['pnpm', true],
  ['npm', false],
] as const)('an ESM TypeScript app, installed with %s', (manager, full) => {
  let dir = '';
  beforeAll(async () => {
    dir = (await installApp(tarball, { ...appInstalls().esm, manager })).dir;
    made.push(dir);
  }, 300_000);

  test('vitest run passes, records its tests, and starts its records clean on the next run', async () => {
    for (let i = 0; i < 2; i++) {
      const { env, dataParent } = runEnv();
      const r = await exec(bin(dir, 'vitest'), ['run'], dir, env);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/Tests\s+3 passed \(3\)/);
      expect(readdirSync(dataParent)).toEqual([]);
    }
    const files = recordFiles(dir);
    expect(files.map((f) => f.name)).toHaveLength(1);
    expect(files[0]?.records.map((r) => r.status)).toEqual(['passed', 'passed', 'passed']);
  });

  test('a failing test makes vitest run exit 1', async () => {
    const { env } = runEnv({ CONSUMER_FAIL: '1' });
    const r = await exec(bin(dir, 'vitest'), ['run'], dir, env);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/Tests\s+1 failed \| 2 passed \(3\)/);
  });

  test.runIf(full)("the app's types check against shipgate's declarations", async () => {
    const r = await exec(bin(dir, 'tsc'), ['-p', '.'], dir);
    expect(r.code, r.output).toBe(0);
  });

  test('shipgate test runs the gate and ends with the summary line; a failure exits 2', async () => {
    const pass = await exec(bin(dir, 'shipgate'), ['test'], dir, runEnv().env);
    expect(pass.code, pass.output).toBe(0);
    expect(lastLine(pass.output)).toBe('shipgate: 3 passed, 0 failed, 0 skipped');
    const fail = await exec(bin(dir, 'shipgate'), ['test'], dir, runEnv({ CONSUMER_FAIL: '1' }).env);
    expect(fail.code, fail.output).toBe(2);
    expect(lastLine(fail.output)).toBe('shipgate: 2 passed, 1 failed, 0 skipped');
  });

  test.runIf(full)('shipgate init adds a config and the test script, and never overwrites', async () => {
    const project = mkdtempSync(path.join(tmpdir(), 'shipgate-init-'));
    made.push(project);
    const placeholder = { name: 'fresh', scripts: { test: 'echo "Error: no test specified" && exit 1' } };
    writeFileSync(path.join(project, 'package.json'), JSON.stringify(placeholder, null, 2));
    const first = await exec(bin(dir, 'shipgate'), ['init'], project);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('shipgate init: wrote vitest.config.mjs');
    expect(JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')).scripts.test).toBe('shipgate test');
    writeFileSync(path.join(project, 'vitest.config.mjs'), '// mine\n');
    const second = await exec(bin(dir, 'shipgate'), ['init'], project);
    expect(second.code, second.output).toBe(0);
    expect(second.output).not.toContain('wrote');
    expect(readFileSync(path.join(project, 'vitest.config.mjs'), 'utf8')).toBe('// mine\n');
  });

  test.runIf(full)("every command's --help exits 0 and names nothing of shipgate's repo", async () => {
    const top = await exec(bin(dir, 'shipgate'), ['--help'], dir);
    expect(top.code).toBe(0);
    const commands = [...top.output.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1] as string);
    expect(commands).toEqual(['budget', 'gate', 'generate', 'init', 'k6', 'migrate', 'report', 'test']);
    for (const c of commands) {
      const r = await exec(bin(dir, 'shipgate'), [c, '--help'], dir);
      expect(r.code, `${c}: ${r.output}`).toBe(0);
      expect(r.output, c).toMatch(new RegExp(`^usage: shipgate ${c}`));
      expect(r.output, c).not.toMatch(/scripts\/|example\//);
    }
  });
});

describe.each([
  ['npm', true],
  ['pnpm', false],
] as const)('a CommonJS Express 4 + Prisma 7 app, installed with %s', (manager, full) => {
  let dir = '';
  beforeAll(async () => {
    dir = (await installApp(tarball, { ...appInstalls().cjs, manager })).dir;
    made.push(dir);
    // The README's adoption example is this app: its blocks replace the app's own copies.
    for (const [file, code] of readmeBlocks()) writeFileSync(path.join(dir, file), code);
  }, 300_000);

  test.runIf(full)("the README's adoption example is this app's files, block for block", () => {
    const blocks = readmeBlocks();
    expect([...blocks.keys()]).toEqual(['src/db.js', 'vitest.config.mjs', 'test/users.test.js']);
    for (const [file, code] of blocks) {
      expect(code, file).toBe(readFileSync(path.join(import.meta.dirname, 'apps', 'cjs-express', file), 'utf8'));
    }
  });

  test("shipgate generate finds the app's schema and generates its client without Prisma's engine", async () => {
    const r = await exec(bin(dir, 'shipgate'), ['generate'], dir);
    expect(r.code, r.output).toBe(0);
    // npm hoists `.prisma/client` next to @prisma/client; pnpm keeps it in that package's store folder.
    expect(r.output).toMatch(
      /prisma client (generated|up to date) \((node_modules\/\.pnpm\/[^/ ]+\/)?node_modules\/\.prisma\/client, prisma 7\./,
    );
  });

  test('one pg for the app and shipgate, and CommonJS can require shipgate', async () => {
    const req = createRequire(path.join(dir, 'package.json'));
    const own = createRequire(req.resolve('shipgate/report'));
    expect(own.resolve('pg')).toBe(req.resolve('pg'));
    const r = await exec(process.execPath, ['-e', "console.log(typeof require('shipgate/report').exitCodeFor)"], dir);
    expect(r.output.trim()).toBe('function');
  });

  test('vitest run passes (request, Prisma, rollback isolation) and fails on a failing test', async () => {
    const { env, dataParent } = runEnv();
    const pass = await exec(bin(dir, 'vitest'), ['run'], dir, env);
    expect(pass.code, pass.output).toBe(0);
    expect(pass.output).toMatch(/Tests\s+5 passed \(5\)/);
    expect(readdirSync(dataParent)).toEqual([]);
    const fail = await exec(bin(dir, 'vitest'), ['run'], dir, runEnv({ CONSUMER_FAIL: '1' }).env);
    expect(fail.code, fail.output).toBe(1);
  });

  test('shipgate test: generate, the tests, the budget phase, one report; shipgate report re-renders it', async () => {
    const r = await exec(bin(dir, 'shipgate'), ['test'], dir, runEnv().env);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('shipgate: phase unit');
    expect(r.output).toContain('shipgate: phase budgets');
    expect(lastLine(r.output)).toBe('shipgate: 6 passed, 0 failed, 0 skipped');
    for (const f of ['junit.xml', 'ctrf.json', 'summary.md', 'index.html']) {
      expect(readdirSync(path.join(dir, '.shipgate', 'report'))).toContain(f);
    }
    const again = await exec(bin(dir, 'shipgate'), ['report', '--sinks', 'console'], dir, runEnv().env);
    expect(again.code, again.output).toBe(0);
    expect(lastLine(again.output)).toBe('shipgate: 6 passed, 0 failed, 0 skipped');
  });

  test.runIf(full)(
    'shipgate migrate smoke: a new nullable column is SAFE (0), dropping a column with data UNSAFE (2)',
    async () => {
      const base = mkdtempSync(path.join(tmpdir(), 'shipgate-consumer-base-'));
      made.push(base);
      cpSync(path.join(dir, 'prisma', 'migrations'), base, { recursive: true });
      const added = path.join(dir, 'prisma', 'migrations', '20211001000000_user_change');
      mkdirSync(added);
      try {
        for (const [sql, code, verdict] of [
          ['ALTER TABLE "User" ADD COLUMN "bio" TEXT;', 0, 'SAFE'],
          ['ALTER TABLE "User" DROP COLUMN "name";', 2, 'UNSAFE'],
        ] as const) {
          writeFileSync(path.join(added, 'migration.sql'), `${sql}\n`);
          const args = ['migrate', 'smoke', '--base', base, '--head', 'prisma/migrations'];
          const r = await exec(bin(dir, 'shipgate'), args, dir, runEnv().env);
          expect(r.code, r.output).toBe(code);
          expect(r.output).toContain(`shipgate migrate smoke: ${verdict} (exit ${code})`);
        }
      } finally {
        rmSync(added, { recursive: true, force: true });
      }
    },
  );
});
