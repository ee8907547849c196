/**
 * The fault scenarios of issue 14, shared by specs/faults/*.test.ts (which assert on them) and
 * `pnpm bench:faults` (which reports them). Each runs real shipgate as a child process against
 * a real Postgres, injects one fault, and returns the exit code, the time from the fault to
 * the exit, the output and what was left behind (workspace.ts). No mocks.
 *
 * Time to failure runs from the moment the fault is injected (for a fault present from the
 * start, from the spawn) to the child's exit, by `performance.now()`. `pgTimeoutMs` is the
 * children's SHIPGATE_PG_TIMEOUT_MS (unset: shipgate's default, 30 s). A child test's own
 * limit is Vitest's default 5 s: a query that a frozen server never answers ends there.
 */
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { childPrefix } from '../child-vitest.ts';
import {
  blackHole,
  blackHoleUrl,
  fill,
  killRunnerAndReaper,
  type Standalone,
  sessionsGone,
  shownBlackHole,
  startStandalone,
} from './injectors.ts';
import {
  cli,
  databasesOf,
  isTemplateMark,
  type Launched,
  type Run,
  root,
  shownUrlOf,
  signalGroup,
  vitestBin,
  Workspace,
  withClient,
} from './workspace.ts';

export { BLACK_HOLE_PASSWORD } from './injectors.ts';

/** What one scenario observed. */
export interface FaultResult {
  scenario: string;
  /** The faulted run's exit code (null when a signal ended it) and signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Seconds from the fault to the faulted run's exit; null where the scenario injects no failure. */
  timeToFailureS: number | null;
  /** The faulted run's output. */
  output: string;
  /** The run after it, where the scenario needs one to clean up. */
  next?: { code: number | null; output: string };
  /** What was there right after the fault, where leftovers are expected (the reaper killed too). */
  leftAtFault?: string[];
  /** What was left once every run of the scenario was over: empty is the goal. */
  leftovers: string[];
  /** Databases that were there before (foreign look-alikes) and are gone after. */
  foreignDropped: string[];
  /** shipgate-marked templates left on an external server (allowed: the next run reuses them). */
  templatesKept: number;
  /** The server, as the output must name it (a redacted URL or a data dir). */
  server: string;
  /** Why the scenario could not run here; nothing else is meaningful then. */
  skipped?: string;
  /** The whole scenario's wall time (servers, runs, checks), in seconds. */
  wallS?: number;
}

export interface FaultOptions {
  /** SHIPGATE_PG_TIMEOUT_MS for the children; unset means shipgate's default. */
  pgTimeoutMs?: number;
}

const TEST_TIMEOUT_MS = 5_000;
const SHOP_MIGRATIONS = path.join(root, 'specs', 'smoke', 'fixtures', 'shop', 'migrations');
const FIXTURE_PROJECT = path.join(root, 'specs', 'fixtures-project');

const seconds = (from: number, to: number) => Math.round(to - from) / 1000;

/** Child Vitest args for the fixture config, on `specs/faults/fixtures/<file>` or its own fixtures. */
function vitestArgs(file: string, dir = 'specs/faults/fixtures'): string[] {
  return [
    'run',
    '--config',
    'specs/fixtures-vitest/vitest.config.ts',
    '--dir',
    dir,
    '--testTimeout',
    String(TEST_TIMEOUT_MS),
    file,
  ];
}
const passes = vitestArgs('passes.fixture', 'specs/fixtures-vitest');
const waits = vitestArgs('waits.fixture', 'specs/fixtures-vitest');

function timeoutEnv(o: FaultOptions): NodeJS.ProcessEnv {
  return { SHIPGATE_PG_TIMEOUT_MS: o.pgTimeoutMs ? String(o.pgTimeoutMs) : '' };
}
const embeddedEnv = (o: FaultOptions): NodeJS.ProcessEnv => ({ SHIPGATE_PROVIDER: 'embedded', ...timeoutEnv(o) });

function externalEnv(s: Standalone, prefix: string, o: FaultOptions): NodeJS.ProcessEnv {
  return {
    SHIPGATE_PROVIDER: 'external',
    SHIPGATE_DATABASE_URL: s.adminUrl,
    SHIPGATE_DB_PREFIX: prefix,
    ...timeoutEnv(o),
  };
}

function emptyResult(scenario: string, server: string): FaultResult {
  return {
    scenario,
    code: null,
    signal: null,
    timeToFailureS: null,
    output: '',
    leftovers: [],
    foreignDropped: [],
    templatesKept: 0,
    server,
  };
}

function result(scenario: string, run: Run, faultAt: number | null, server: string): FaultResult {
  return {
    ...emptyResult(scenario, server),
    code: run.code,
    signal: run.signal,
    timeToFailureS: faultAt === null ? null : seconds(faultAt, run.exitedAt),
    output: run.output,
  };
}

/** Runs `fn` with a fresh workspace, removed (and anything of it still running killed) after. */
async function inWorkspace(label: string, fn: (ws: Workspace) => Promise<FaultResult>): Promise<FaultResult> {
  const t0 = performance.now();
  const ws = new Workspace(label);
  try {
    return { ...(await fn(ws)), wallS: seconds(t0, performance.now()) };
  } finally {
    await ws.dispose();
  }
}

/** Waits for the child's test to hold its database and run its query, then lets it reach the server. */
async function whenInQuery(run: Launched): Promise<void> {
  await run.waitFor(/SHIPGATE_CHILD_READY/);
  await sleep(200);
}

/**
 * 1a. Frozen external server: a child run on a standalone server of ours is in a query when the
 * server's whole process group is SIGSTOPped. The run must end by itself. The server is then
 * resumed, and a second run on the same prefix must sweep what the first could not drop.
 */
export function frozenExternal(o: FaultOptions = {}): Promise<FaultResult> {
  return inWorkspace('frozen-external', async (ws) => {
    await using s = await startStandalone();
    const prefix = childPrefix();
    const env = externalEnv(s, prefix, o);
    const run = ws.launch(vitestBin, vitestArgs('queries.fixture'), env);
    await whenInQuery(run);
    signalGroup(s.postmaster, 'SIGSTOP');
    const faultAt = performance.now();
    const r = result('frozen external server', await run.done, faultAt, s.shown);
    signalGroup(s.postmaster, 'SIGCONT');
    await sessionsGone(s.adminUrl, prefix);
    r.leftAtFault = (await databasesOf(s.adminUrl, `${prefix}_t_`)).map((d) => `database "${d.name}"`);
    const next = await ws.launch(vitestBin, passes, env).done;
    r.next = { code: next.code, output: next.output };
    r.leftovers = await ws.leftovers({ adminUrl: s.adminUrl, prefix });
    return r;
  });
}

/**
 * The child's own embedded server faulted mid-query: its whole process group SIGSTOPped
 * (`frozen`, 1b: shipgate's stop must resume it before it can be heard) or its postmaster
 * SIGKILLed (`killed`, 2).
 */
function ownServerFault(fault: 'frozen' | 'killed', o: FaultOptions): Promise<FaultResult> {
  return inWorkspace(fault, async (ws) => {
    const run = ws.launch(vitestBin, vitestArgs('queries.fixture'), embeddedEnv(o));
    await whenInQuery(run);
    const pid = await ws.postmaster();
    const server = shownUrlOf(ws.serverDirs()[0] as string);
    if (fault === 'frozen') signalGroup(pid, 'SIGSTOP');
    else process.kill(pid, 'SIGKILL');
    const faultAt = performance.now();
    const r = result(`${fault} embedded server`, await run.done, faultAt, server);
    r.leftovers = await ws.leftovers();
    return r;
  });
}

/** 1b. Frozen embedded server (see {@link ownServerFault}). */
export const frozenEmbedded = (o: FaultOptions = {}) => ownServerFault('frozen', o);
/** 2. Killed embedded server (see {@link ownServerFault}). */
export const killedServer = (o: FaultOptions = {}) => ownServerFault('killed', o);

/**
 * 3a. `shipgate migrate deploy --url <black hole>`. The hole is there from the start; the time
 * to failure runs from shipgate's first connection to it (node's start-up is not the fault's).
 */
export function blackHoleDeploy(o: FaultOptions = {}): Promise<FaultResult> {
  return inWorkspace('black-hole-deploy', async (ws) => {
    await using hole = await blackHole();
    const url = blackHoleUrl(hole.port);
    const args = [cli, 'migrate', 'deploy', '--dir', 'example/prisma/migrations', '--url', url];
    const run = await ws.launch(process.execPath, args, timeoutEnv(o)).done;
    const r = result('black hole: migrate deploy', run, hole.firstConnectionAt() ?? run.startedAt, shownBlackHole(url));
    r.leftovers = await ws.leftovers();
    return r;
  });
}

/** 3b. `shipgate test` with the external provider at a black hole (in the exit-code matrix's project). */
export function blackHoleTest(o: FaultOptions = {}): Promise<FaultResult> {
  return inWorkspace('black-hole-test', async (ws) => {
    await using hole = await blackHole();
    const url = blackHoleUrl(hole.port);
    const env = {
      SHIPGATE_PROVIDER: 'external',
      SHIPGATE_DATABASE_URL: url,
      SHIPGATE_PHASES: 'unit',
      ...timeoutEnv(o),
    };
    const run = await ws.launch(process.execPath, [cli, 'test'], env, FIXTURE_PROJECT).done;
    const r = result('black hole: shipgate test', run, hole.firstConnectionAt() ?? run.startedAt, shownBlackHole(url));
    r.leftovers = await ws.leftovers();
    return r;
  });
}

/**
 * 4. Disk full in the data dir: SHIPGATE_EMBEDDED_DIR on a 64 MiB tmpfs. `at: 'initdb'` leaves
 * 8 MiB before the run (a fresh cluster needs about 39); `at: 'clone'` fills it once the
 * template is built, so the first clone hits ENOSPC.
 */
export function diskFull(at: 'initdb' | 'clone', o: FaultOptions = {}): Promise<FaultResult> {
  return inWorkspace(`disk-full-${at}`, async (ws) => {
    const scenario = `disk full at ${at}`;
    const mounted = ws.tmpfs('disk', 64);
    if ('skipped' in mounted) return { ...emptyResult(scenario, ''), skipped: mounted.skipped };
    const disk = mounted.dir;
    if (at === 'initdb') fill(disk, 8);
    const run = ws.launch(vitestBin, passes, { ...embeddedEnv(o), SHIPGATE_EMBEDDED_DIR: disk });
    let faultAt = run.startedAt;
    if (at === 'clone') {
      await run.waitFor(/template \S+ built in/);
      fill(disk, 0);
      faultAt = performance.now();
    }
    const r = result(scenario, await run.done, faultAt, disk);
    r.leftovers = await ws.leftovers();
    return r;
  });
}

/**
 * 5. The reaper killed together with the runner: leftovers are expected then, and the next run
 * must remove them and say so. Embedded: the next run's stale server-dir sweep; external: the
 * next run's lease-based database sweep.
 */
export function reaperKilled(provider: 'embedded' | 'external', o: FaultOptions = {}): Promise<FaultResult> {
  return inWorkspace(`reaper-killed-${provider}`, async (ws) => {
    await using s = provider === 'external' ? await startStandalone() : undefined;
    const prefix = childPrefix();
    const env = s ? externalEnv(s, prefix, o) : { ...embeddedEnv(o), SHIPGATE_DB_PREFIX: prefix };
    const run = ws.launch(vitestBin, waits, env);
    await run.waitFor(/SHIPGATE_CHILD_READY/);
    const server = s ? s.shown : (ws.serverDirs()[0] as string);
    killRunnerAndReaper(run);
    const faultAt = performance.now();
    const r = result(`reaper killed with the runner (${provider})`, await run.done, faultAt, server);
    const target = s ? { adminUrl: s.adminUrl, prefix } : undefined;
    r.leftAtFault = await ws.leftovers(target, 0);
    if (s) await sessionsGone(s.adminUrl, prefix);
    // The sweep leaves a dead run's dir alone for SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES (10):
    // age it past that rather than widen the sweep to every fresh dir of a dead run on the machine.
    const old = new Date(Date.now() - 3_600_000);
    for (const d of ws.serverDirs()) utimesSync(d, old, old);
    const next = await ws.launch(vitestBin, passes, env).done;
    r.next = { code: next.code, output: next.output };
    r.leftovers = await ws.leftovers(target);
    return r;
  });
}

/** Look-alikes of shipgate's names under `prefix` (and one under another prefix), none of them shipgate's. */
export function foreignDatabases(prefix: string, other: string): { name: string; comment?: string }[] {
  const old = Math.floor(Date.now() / 1000 - 86_400 * 30).toString(36);
  return [
    { name: `${prefix}_t_1_deadbeef_x` },
    { name: `${prefix}_k_1_abcd_1` },
    { name: `${prefix}_tpl_customer`, comment: 'customer data, not a template' },
    { name: `${prefix}_tpl_0123456789abcdef` },
    { name: `${prefix}_t_${old}_deadbeef_1_1` },
    // A mark copied along with the data: it names another run than the name does.
    { name: `${prefix}_t_${old}_cafe0001_1_1`, comment: '{"shipgate":"shipgate-db-v1","run":"cafe0002"}' },
    { name: `${other}_t_${old}_deadbeef_1_1` },
  ];
}

/**
 * 6. Two runs at once on one external server, sharing a prefix on which foreign look-alikes
 * live, with SHIPGATE_KEEP_TEMPLATES=1 and different migrations (so different templates, and
 * each prunes the other's). Both must pass; every look-alike must stay; of the runs' own
 * databases only shipgate-marked templates may stay.
 */
export function twoRunsSharedServer(o: FaultOptions = {}): Promise<FaultResult> {
  return inWorkspace('two-runs', async (ws) => {
    await using s = await startStandalone();
    const prefix = childPrefix();
    const foreign = foreignDatabases(prefix, childPrefix());
    await withClient(s.adminUrl, async (c) => {
      for (const f of foreign) {
        await c.query(`CREATE DATABASE "${f.name}"`);
        if (f.comment) await c.query(`COMMENT ON DATABASE "${f.name}" IS ${c.escapeLiteral(f.comment)}`);
      }
    });
    const env = { ...externalEnv(s, prefix, o), SHIPGATE_KEEP_TEMPLATES: '1' };
    const [a, b] = await Promise.all([
      ws.launch(vitestBin, passes, env).done,
      ws.launch(vitestBin, passes, { ...env, SHIPGATE_MIGRATIONS_DIR: SHOP_MIGRATIONS }).done,
    ]);
    const failed = [a, b].find((x) => x.code !== 0) ?? a;
    const r = result('two runs on one external server', failed, null, s.shown);
    r.output = `--- run A\n${a.output}\n--- run B\n${b.output}`;
    r.code = a.code || b.code;
    const after = new Set((await databasesOf(s.adminUrl, '')).map((d) => d.name));
    r.foreignDropped = foreign.map((f) => f.name).filter((n) => !after.has(n));
    r.leftovers = await ws.leftovers({ adminUrl: s.adminUrl, prefix, preexisting: foreign.map((f) => f.name) });
    r.templatesKept = (await databasesOf(s.adminUrl, `${prefix}_tpl_`)).filter((d) => isTemplateMark(d.comment)).length;
    return r;
  });
}

/** Every scenario, in the order the bench runs them. */
export const SCENARIOS: { id: string; run: (o: FaultOptions) => Promise<FaultResult> }[] = [
  { id: 'frozen-external', run: frozenExternal },
  { id: 'frozen-embedded', run: frozenEmbedded },
  { id: 'killed', run: killedServer },
  { id: 'black-hole-deploy', run: blackHoleDeploy },
  { id: 'black-hole-test', run: blackHoleTest },
  { id: 'disk-full-initdb', run: (o) => diskFull('initdb', o) },
  { id: 'disk-full-clone', run: (o) => diskFull('clone', o) },
  { id: 'reaper-killed-embedded', run: (o) => reaperKilled('embedded', o) },
  { id: 'reaper-killed-external', run: (o) => reaperKilled('external', o) },
  { id: 'two-runs', run: twoRunsSharedServer },
];
