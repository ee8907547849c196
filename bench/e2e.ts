/**
 * `pnpm bench:e2e`: the E2E suite (playwright.config.ts, specs/e2e) timed end to end, printing JSON.
 * - Wall time of `playwright test` at 1 and at 2 workers (process start to exit: Postgres start,
 *   template, workers, browser, tests, teardown), `--runs` times each, alternating.
 * - Per-worker setup, as each worker measured it (plugins/playwright/worker.ts): clone of the
 *   template plus app start (spawn to listening and healthy). Target: ≤ 1000 ms.
 * - Per-test reset (TRUNCATE of every table) and the session start (server, template).
 * - The same worker setup alone (`--setups` times, one after another, on one session, with the
 *   config's app): no browsers and no other worker booting next to it, so it shows what the
 *   setup itself costs rather than what it costs amid a suite starting up.
 * Microseconds internally, reported in ms with 3 decimals; percentiles nearest-rank on unrounded samples.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import config from '../playwright.config.ts';
import { resolveOptions } from '../plugins/core/config.ts';
import { summarize } from '../plugins/core/stats.ts';
import type { AppConfig } from '../plugins/playwright/app-server.ts';
import type { ShipgatePlaywrightOptions } from '../plugins/playwright/options.ts';
import { startWorker, type WorkerRecord } from '../plugins/playwright/worker.ts';
import { type SessionTimings, startSession } from '../plugins/session.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, setups: { type: 'string', default: '10' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 0) throw new Error(`--runs is "${values.runs}"; expected an integer ≥ 0`);
const setups = Number(values.setups);
if (!Number.isInteger(setups) || setups < 0) throw new Error(`--setups is "${values.setups}"; expected an integer ≥ 0`);

const root = path.resolve(import.meta.dirname, '..');
const TARGET_SETUP_MS = 1_000;
const ms = (us: number) => Math.round(us) / 1000;
const msStats = (us: number[]) =>
  Object.fromEntries(Object.entries(summarize(us)).map(([k, v]) => [k, k === 'n' ? v : ms(v)]));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Run {
  workers: number;
  wallUs: number;
  exitCode: number | null;
  tests: { expected: number; unexpected: number; flaky: number; skipped: number };
  records: WorkerRecord[];
  session?: SessionTimings & { provider: string };
}

async function suite(workers: number): Promise<Run> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-e2e-'));
  const json = path.join(dir, 'results.json');
  try {
    const started = performance.now();
    const child = spawn(
      path.join(root, 'node_modules', '.bin', 'playwright'),
      ['test', `--workers=${workers}`, '--reporter=json'],
      {
        cwd: root,
        // No retries: a flaky test would distort the wall time; it shows up in `tests` instead.
        env: { ...process.env, CI: '', SHIPGATE_REPORT_DIR: dir, PLAYWRIGHT_JSON_OUTPUT_NAME: json },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const wallUs = (performance.now() - started) * 1000;
    if (!existsSync(json))
      throw new Error(`playwright test --workers=${workers} wrote no results:\n${stderr.slice(-2000)}`);
    const stats = (JSON.parse(readFileSync(json, 'utf8')) as { stats: Run['tests'] }).stats;
    const pw = path.join(dir, 'playwright');
    const records = readdirSync(path.join(pw, 'workers')).map(
      (f) => JSON.parse(readFileSync(path.join(pw, 'workers', f), 'utf8')) as WorkerRecord,
    );
    const sessionFile = readdirSync(pw).find((f) => f.startsWith('session-'));
    const session = sessionFile ? JSON.parse(readFileSync(path.join(pw, sessionFile), 'utf8')) : undefined;
    const { expected, unexpected, flaky, skipped } = stats;
    return { workers, wallUs, exitCode, tests: { expected, unexpected, flaky, skipped }, records, session };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const all: Run[] = [];
for (let i = 0; i < runs; i++) {
  for (const workers of [1, 2]) {
    log(`bench:e2e: run ${i + 1}/${runs}, ${workers} worker(s)…`);
    const run = await suite(workers);
    log(`bench:e2e:   ${ms(run.wallUs).toFixed(0)} ms, ${run.tests.expected} passed, ${run.tests.unexpected} failed`);
    all.push(run);
  }
}

/** startWorker `setups` times in a row on one session, as the fixtures do, with the config's options. */
async function isolatedSetups(): Promise<WorkerRecord[]> {
  const use = (config.use ?? {}) as ShipgatePlaywrightOptions;
  const out = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-e2e-'));
  const session = await startSession(resolveOptions(use.shipgate ?? {}, root), { workers: 1, log: () => {} });
  try {
    for (let i = 0; i < setups; i++) {
      const worker = await startWorker({
        runtime: session.runtime,
        app: use.app as AppConfig,
        root,
        workerIndex: i,
        parallelIndex: 0,
        outDir: out,
      });
      await worker.stop();
    }
    const dir = path.join(out, 'workers');
    return readdirSync(dir).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as WorkerRecord);
  } finally {
    await session.stop();
    rmSync(out, { recursive: true, force: true });
  }
}

log(`bench:e2e: worker setup alone, ${setups} times…`);
const alone = setups > 0 ? await isolatedSetups() : [];
const records = all.flatMap((r) => r.records);
const setup = msStats(records.map((r) => r.setupUs));
const wall = (workers: number) => {
  const mine = all.filter((r) => r.workers === workers);
  return {
    wallMs: msStats(mine.map((r) => r.wallUs)),
    tests: mine[0]?.tests,
    workersStarted: mine.map((r) => r.records.length),
    allPassed: mine.every((r) => r.exitCode === 0),
  };
};
const result = {
  what: 'E2E suite (specs/e2e, Chromium) and per-worker setup',
  provider: all[0]?.session?.provider,
  runsPerWorkerCount: runs,
  suite: { workers1: wall(1), workers2: wall(2) },
  perWorkerSetup: {
    note: 'clone of the template + app server start (spawn to listening and /health 200), as each worker measured it',
    setupMs: setup,
    cloneMs: msStats(records.map((r) => r.cloneUs)),
    appStartMs: msStats(records.map((r) => r.appStartUs)),
    target: { p95AtMostMs: TARGET_SETUP_MS, met: (setup.p95 as number) <= TARGET_SETUP_MS },
  },
  perWorkerSetupAlone: {
    note: 'the same setup, one worker after another on one session, without browsers or other workers booting',
    setupMs: msStats(alone.map((r) => r.setupUs)),
    cloneMs: msStats(alone.map((r) => r.cloneUs)),
    appStartMs: msStats(alone.map((r) => r.appStartUs)),
  },
  perTestResetMs: msStats(records.flatMap((r) => r.resetUs ?? [])),
  sessionStartMs: msStats(all.flatMap((r) => (r.session ? [r.session.serverStartUs] : []))),
  templateMs: msStats(all.flatMap((r) => (r.session ? [r.session.templateUs] : []))),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
