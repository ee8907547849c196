/**
 * `pnpm bench:budget`: the performance-budget benchmark, printing JSON. Five parts (`--parts`):
 *
 * 1. Fidelity. A server stalls its event loop for `stall-ms` every `period-ms` while requests
 *    arrive at `rate`/s. A request arriving u ms into a stall waits (stall − u), so the true p99
 *    is stall − 1 % × period (analytic), plus the base service time. The server also logs when
 *    it sent each response on the machine's monotonic clock; with each request's scheduled
 *    instant that gives a truth measured by the server, not the client. shipgate's p99 is
 *    compared with both; plain autocannon's p99 in the same run (closed loop, and rate mode)
 *    shows what its statistics report for the same server.
 * 2. Generator ceiling. shipgate's fixed-concurrency engine against Debian's `wrk` and plain
 *    autocannon, on Debian's nginx (a static 200; node:http when nginx is missing), server pinned
 *    to CPU 0 and load generators to CPU 1 (taskset), rounds in a seeded random order; the median
 *    requests/s of each. The result is void when the server used ≥ 90 % of its core. The open loop
 *    runs at several offered rates (random order): the highest one it delivers clean.
 * 3. A/A. Two processes of identical code as base and head; interleaved rounds (5 each) judged
 *    for a regression, `aa-comparisons` times; and each head's first round against the
 *    previous comparison's base rounds as a stored baseline. How often a regression is wrongly
 *    called, with a 95 % upper bound (Clopper–Pearson), at the default threshold and at the
 *    power check's.
 * 4. Power. A head server with extra CPU per request sized to +15 % of the base's p95, judged
 *    in interleaved rounds: how often the regression is called, at both thresholds.
 * 5. Noisy neighbour. A stored baseline on the quiet machine, then one head round of the same
 *    build per comparison (the CLI default) under a busy loop, and under a second process
 *    doing Postgres work: false regressions with the lateness guard, and without it.
 *
 * Latency percentiles: nearest-rank on unrounded µs. Internal: `--serve stall|trivial|aa`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { percentileSorted } from '../plugins/budget/analyze.ts';
import { defineSlo, measureSlo } from '../plugins/budget/index.ts';
import { compareRounds, median, rng } from '../plugins/budget/regression.ts';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    'stall-ms': { type: 'string', default: '200' },
    'period-ms': { type: 'string', default: '1000' },
    rate: { type: 'string', default: '200' },
    'fidelity-seconds': { type: 'string', default: '15' },
    'autocannon-seconds': { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    'ceiling-seconds': { type: 'string', default: '3' },
    'ceiling-rounds': { type: 'string', default: '5' },
    'open-rates': { type: 'string', default: '10000,20000,25000,30000' },
    seed: { type: 'string', default: '' },
    'aa-comparisons': { type: 'string', default: '60' },
    'aa-rounds': { type: 'string', default: '5' },
    'aa-round-ms': { type: 'string', default: '1000' },
    'aa-rps': { type: 'string', default: '1000' },
    parts: { type: 'string', default: 'fidelity,ceiling,aa,power,noisy' },
    nice: { type: 'string', default: '-10' },
    'extra-us': { type: 'string', default: '0' },
    'power-comparisons': { type: 'string', default: '20' },
    'power-threshold-pct': { type: 'string', default: '5' },
    'noisy-comparisons': { type: 'string', default: '60' },
  },
});
const num = (k: keyof typeof values) => Number(values[k]);
const log = (line: string) => process.stderr.write(`bench:budget ${line}\n`);
const round3 = (v: number) => Math.round(v * 1000) / 1000;

// ---------------------------------------------------------------- servers (child processes)

function serve(kind: string): void {
  const stallMs = num('stall-ms');
  const periodMs = num('period-ms');
  const truth: [string, number][] = [];
  const stalls: [number, number][] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/__truth') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ truth, stalls }));
      return;
    }
    if (kind === 'aa') {
      // A little CPU and a little waiting, like a small endpoint over a database. `--extra-us`
      // adds that much CPU per request: the injected regression of the power check.
      const extraUs = num('extra-us');
      if (extraUs > 0) {
        const end = performance.now() + extraUs / 1000;
        while (performance.now() < end) {
          // the injected cost
        }
      }
      const items = Array.from({ length: 50 }, (_, i) => ({ id: i, title: `item ${i}` }));
      setTimeout(() => res.end(JSON.stringify(items)), 2);
      return;
    }
    if (kind === 'stall') {
      const trace = /^00-([0-9a-f]{32})-/.exec(String(req.headers.traceparent ?? ''))?.[1];
      if (trace) truth.push([trace, Number(process.hrtime.bigint()) / 1e6]);
    }
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  if (kind === 'stall') {
    // The known schedule: block the event loop for stallMs at the start of every period.
    setInterval(() => {
      const start = Number(process.hrtime.bigint()) / 1e6;
      const end = performance.now() + stallMs;
      while (performance.now() < end) {
        // stalled: no request is answered
      }
      stalls.push([start, Number(process.hrtime.bigint()) / 1e6]);
    }, periodMs);
  }
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}

const hasTaskset = spawnSync('taskset', ['-V']).status === 0 && cpus().length >= 2;

interface Child {
  url: string;
  pid: number;
  stop: () => void;
}

async function startChild(kind: string, extraUs = 0): Promise<Child> {
  const args = [
    process.argv[1] as string,
    '--serve',
    kind,
    '--stall-ms',
    String(values['stall-ms']),
    '--period-ms',
    String(values['period-ms']),
    '--extra-us',
    String(extraUs),
  ];
  const child = hasTaskset
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (b: Buffer) => {
      buf += b;
      const line = buf.split('\n')[0];
      if (buf.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
  });
  const stop = () => child.kill('SIGTERM');
  process.once('exit', stop);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid as number, stop };
}

/** CPU seconds used so far by a process (utime + stime from /proc). */
function cpuSeconds(pid: number): number {
  try {
    const f =
      execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' })
        .split(') ')[1]
        ?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

// ---------------------------------------------------------------- 1. fidelity

async function fidelity() {
  const stallMs = num('stall-ms');
  const periodMs = num('period-ms');
  const rate = num('rate');
  const seconds = num('fidelity-seconds');
  const srv = await startChild('stall');
  try {
    const slo = defineSlo({
      id: 'bench-fidelity',
      endpoint: { method: 'GET', path: '/' },
      load: { kind: 'rate', rps: rate, duration: seconds * 1000 },
      budgets: { p99: 10_000 },
      warmup: 0,
    });
    log(`fidelity: shipgate ${rate}/s for ${seconds} s against a server stalling ${stallMs} ms every ${periodMs} ms`);
    const result = await measureSlo(srv.url, slo, { baselineDir: false, keepRecords: true });
    const run = result.records?.head[0];
    const { truth, stalls } = (await (await fetch(`${srv.url}/__truth`)).json()) as {
      truth: [string, number][];
      stalls: [number, number][];
    };
    const sentAt = new Map(truth);
    // Two truths per request, neither measured by the client:
    // - from the stall log: a request scheduled inside a logged stall waits until its end;
    // - from the server clock: when the server sent the response minus the scheduled instant
    //   (this one also includes any lateness of the generator and the backlog after a stall).
    const waitMs: number[] = [];
    const serverMs: number[] = [];
    if (run) {
      const r = run.record;
      for (let i = 0; i < r.n; i++) {
        const at = run.stats.startedAtMonotonicMs + (r.scheduledUs[i] as number) / 1000;
        const stall = stalls.find(([from, to]) => at >= from && at < to);
        waitMs.push(stall ? stall[1] - at : 0);
        const trace = `${run.traceSalt}${(r.seq[i] as number).toString(16).padStart(16, '0')}`;
        const end = sentAt.get(trace);
        if (end !== undefined) serverMs.push(end - at);
      }
    }
    waitMs.sort((x, y) => x - y);
    serverMs.sort((x, y) => x - y);
    // The base service time (the unstalled requests' latency) is added to the stall-log truth.
    const baseMs = result.measurement.latency.p50Us / 1000;
    const stallLogP99 = percentileSorted(waitMs, 99) + baseMs;
    const serverTruthP99 = percentileSorted(serverMs, 99);
    const analyticP99 = stallMs - 0.01 * periodMs;
    const measuredP99 = result.measurement.latency.p99Us / 1000;

    const ac = async (opts: Record<string, unknown>) => {
      const res = (await autocannon({ url: srv.url, duration: num('autocannon-seconds'), ...opts })) as unknown as {
        latency: { p99: number; p50: number; max: number };
        requests: { total: number };
      };
      return { p50Ms: res.latency.p50, p99Ms: res.latency.p99, maxMs: res.latency.max, requests: res.requests.total };
    };
    log('fidelity: plain autocannon, closed loop');
    const closed = await ac({ connections: num('connections') });
    log(`fidelity: plain autocannon, rate mode (${rate}/s)`);
    const rateMode = await ac({ connections: num('connections'), overallRate: rate });
    const err = (measuredP99 / stallLogP99 - 1) * 100;
    return {
      server: { stallMs, periodMs, rate, seconds, pinned: hasTaskset },
      truth: {
        analyticP99Ms: analyticP99,
        stallLogP99Ms: round3(stallLogP99),
        serverClockP99Ms: round3(serverTruthP99),
        stalls: stalls.length,
        method:
          'stall log: wait until the end of the logged stall a request was scheduled in, plus the unstalled p50; server clock: response sent minus scheduled; nearest rank',
      },
      shipgate: {
        p99Ms: round3(measuredP99),
        p50Ms: round3(baseMs),
        n: result.measurement.n,
        errorVsTruthPct: round3(err),
        errorVsServerClockPct: round3((measuredP99 / serverTruthP99 - 1) * 100),
        errorVsAnalyticPct: round3((measuredP99 / analyticP99 - 1) * 100),
        dispatchLagP99Ms: round3(result.measurement.generator.lagP99Us / 1000),
        status: result.status,
      },
      autocannon: {
        closedLoop: { ...closed, connections: num('connections'), note: 'default mode; whole-ms latencies' },
        rateMode: { ...rateMode, overallRate: rate, note: 'each second’s quota sent at the start of the second' },
      },
      target: 'shipgate p99 within ±10 % of the truth (stall log)',
      met: Math.abs(err) <= 10,
    };
  } finally {
    srv.stop();
  }
}

// ---------------------------------------------------------------- 2. generator ceiling

/** nginx from Debian on CPU 0, answering a static 200: a server fast enough not to be the limit. */
async function startNginx(): Promise<Child | undefined> {
  if (spawnSync('nginx', ['-v']).error) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-nginx-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000; keepalive_timeout 120s;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 200 "ok"; } } }
`,
  );
  const args = ['-c', path.join(dir, 'nginx.conf'), '-p', dir];
  const child = hasTaskset
    ? spawn('taskset', ['-c', '0', 'nginx', ...args], { stdio: 'ignore' })
    : spawn('nginx', args, { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
  }
  // The worker process is the one serving; its CPU is what the bottleneck check reads.
  const workerPid = Number(
    spawnSync('pgrep', ['-P', readFileSync(path.join(dir, 'nginx.pid'), 'utf8').trim()], {
      encoding: 'utf8',
    }).stdout.split('\n')[0],
  );
  const stop = () => {
    child.kill('SIGTERM');
    spawnSync('pkill', ['-f', path.join(dir, 'nginx.conf')]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return { url, pid: workerPid, stop };
}

/** A seeded shuffle, so the round order is random but reproducible from the printed seed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rand = rng(String(seed));
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function ceiling() {
  const connections = num('connections');
  const seconds = num('ceiling-seconds');
  const rounds = num('ceiling-rounds');
  const openRates = String(values['open-rates']).split(',').map(Number);
  const wrkOk = spawnSync('wrk', ['--version']).error === undefined;
  const nginx = await startNginx();
  const srv = nginx ?? (await startChild('trivial'));
  const seed = Number(values.seed) || Date.now() % 100000;
  try {
    // A generous budget on `/`: the ceiling parts judge the generator, not the server.
    const ceilingSlo = (id: string, load: Parameters<typeof defineSlo>[0]['load'], warmup: string) =>
      defineSlo({ id, endpoint: { method: 'GET', path: '/' }, load, budgets: { p99: 10_000 }, warmup });
    const burstSlo = ceilingSlo(
      'bench-ceiling',
      { kind: 'burst', vus: connections, duration: seconds * 1000 },
      '500ms',
    );
    type Engine = 'wrk' | 'burst' | 'autocannon';
    const rps: Record<Engine, number[]> = { wrk: [], burst: [], autocannon: [] };
    const serverCpu: Record<Engine, number[]> = { wrk: [], burst: [], autocannon: [] };
    const generatorCpu: number[] = [];
    const orders: Engine[][] = [];
    if (wrkOk) spawnSync('wrk', ['-t1', `-c${connections}`, '-d1s', srv.url]);
    for (let i = 0; i < rounds; i++) {
      const order = shuffled<Engine>(wrkOk ? ['wrk', 'burst', 'autocannon'] : ['burst', 'autocannon'], seed + i);
      orders.push(order);
      for (const engine of order) {
        log(`ceiling: round ${i + 1}/${rounds}: ${engine}`);
        const c0 = cpuSeconds(srv.pid);
        const t0 = performance.now();
        if (engine === 'wrk') {
          const cmd = hasTaskset ? 'taskset' : 'wrk';
          const args = [...(hasTaskset ? ['-c', '1', 'wrk'] : []), '-t1', `-c${connections}`, `-d${seconds}s`, srv.url];
          const m = /Requests\/sec:\s+([\d.]+)/.exec(spawnSync(cmd, args, { encoding: 'utf8' }).stdout);
          if (m) rps.wrk.push(Number(m[1]));
        } else if (engine === 'burst') {
          const r = await measureSlo(srv.url, burstSlo, { baselineDir: false, threads: 1 });
          rps.burst.push(r.measurement.requests / seconds);
          generatorCpu.push(round3(r.measurement.generator.cpu));
        } else {
          const r = (await autocannon({ url: srv.url, connections, duration: seconds })) as unknown as {
            requests: { average: number };
          };
          rps.autocannon.push(r.requests.average);
        }
        serverCpu[engine].push(round3((cpuSeconds(srv.pid) - c0) / ((performance.now() - t0) / 1000)));
      }
    }
    // The open loop: the highest offered rate it delivers clean (nothing dropped, no error, a
    // conclusive pass: the verdict's own generator checks held), each rate once, in a random order.
    const open: {
      offered: number;
      achieved: number;
      dropped: number;
      errors: number;
      lagP99Ms: number;
      status: string;
    }[] = [];
    for (const rate of shuffled(openRates, seed + 999)) {
      log(`ceiling: open loop at ${rate}/s`);
      const slo = ceilingSlo('bench-open-ceiling', { kind: 'rate', rps: rate, duration: seconds * 1000 }, '300ms');
      const r = await measureSlo(srv.url, slo, { baselineDir: false, threads: 1 });
      const m = r.measurement;
      open.push({
        offered: rate,
        achieved: Math.round(m.generator.achievedRps ?? 0),
        dropped: m.dropped,
        errors: m.errors,
        lagP99Ms: round3(m.generator.lagP99Us / 1000),
        status: r.status,
      });
    }
    open.sort((a, b) => a.offered - b.offered);
    const clean = open.filter((o) => o.dropped === 0 && o.errors === 0 && o.status === 'passed');
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? Number.NaN;
    // The server must not be the limit: its median CPU share under each engine below 90 % of a core.
    const busiestServer = Math.max(
      ...Object.values(serverCpu)
        .filter((v) => v.length)
        .map(median),
    );
    const serverBound = busiestServer >= 0.9;
    const ratio = median(rps.burst) / median(rps.wrk);
    return {
      server: nginx
        ? 'nginx (Debian), one worker, return 200 "ok"'
        : 'node:http (nginx not installed: apt-get install nginx-light)',
      pinned: hasTaskset
        ? 'server on CPU 0; wrk, autocannon and the shipgate process (one generator thread) on CPU 1'
        : false,
      connections,
      seconds,
      seed,
      orders,
      wrk: wrkOk
        ? { rps: rps.wrk.map(Math.round), median: Math.round(median(rps.wrk)) }
        : 'not installed (apt-get install wrk)',
      shipgateBurst: { rps: rps.burst.map(Math.round), median: Math.round(median(rps.burst)), generatorCpu },
      autocannon: { rps: rps.autocannon.map(Math.round), median: Math.round(median(rps.autocannon)) },
      shipgateOpenLoop: { rates: open, highestClean: clean.length ? Math.max(...clean.map((o) => o.offered)) : 0 },
      serverCpuCores: serverCpu,
      serverBottleneck: { busiestEngineMedian: busiestServer, limit: 0.9, void: serverBound },
      ratio: round3(ratio),
      target:
        'shipgate burst ≥ 0.8 × wrk; open loop ≥ 20k requests/s clean; void when the server used ≥ 90 % of its core',
      met: serverBound ? 'void: the server was the bottleneck' : ratio >= 0.8 && clean.some((o) => o.offered >= 20_000),
    };
  } finally {
    srv.stop();
  }
}

// ---------------------------------------------------------------- 3. A/A

/** Clopper–Pearson upper bound (one-sided 95 %) of a proportion with k of n, by bisection. */
function upper95(k: number, n: number): number {
  if (k === n) return 1;
  let lo = k / n;
  let hi = 1;
  const tail = (p: number) => {
    // P(X ≤ k) for X ~ Binomial(n, p)
    let sum = 0;
    let term = (1 - p) ** n;
    for (let i = 0; i <= k; i++) {
      sum += term;
      term *= ((n - i) / (i + 1)) * (p / (1 - p));
    }
    return sum;
  };
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (tail(mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}

async function aa() {
  const comparisons = num('aa-comparisons');
  const rounds = num('aa-rounds');
  const roundMs = num('aa-round-ms');
  const rps = num('aa-rps');
  const a = await startChild('aa');
  const b = await startChild('aa');
  try {
    const slo = aaSlo();
    let interleavedFalse = 0;
    let interleavedFalseAtPower = 0;
    const atPower = { latencyPct: num('power-threshold-pct') };
    let storedFalse = 0;
    let storedFalse5 = 0;
    let storedJudged = 0;
    const deltas: number[] = [];
    let previousBase: Awaited<ReturnType<typeof measureSlo>>['base'];
    for (let i = 0; i < comparisons; i++) {
      // Alternate which process plays "head", so a difference between the two processes
      // cannot masquerade as a stable result.
      const [base, head] = i % 2 === 0 ? [a, b] : [b, a];
      const r = await measureSlo(head.url, slo, { base: base.url, rounds, baselineDir: false });
      if (r.regression?.regression) interleavedFalse++;
      // The same rounds judged at the power check's threshold, for the A/A figure beside it.
      if (r.base) {
        const opts = { method: 'interleaved' as const, percentiles: [95], throughput: false, seed: `aa-p-${i}` };
        if (compareRounds(r.base.rounds, r.measurement.rounds, { ...opts, thresholds: atPower }).regression) {
          interleavedFalseAtPower++;
        }
      }
      const p95 = r.regression?.comparisons.find((c) => c.key === 'p95Ms');
      if (p95) deltas.push(round3(p95.delta));
      if (previousBase && r.measurement.rounds[0]) {
        const opts = { method: 'baseline' as const, percentiles: [95], throughput: false, seed: `aa-${i}` };
        storedJudged++;
        if (compareRounds(previousBase.rounds, [r.measurement.rounds[0]], opts).regression) storedFalse++;
        if (compareRounds(previousBase.rounds, r.measurement.rounds, opts).regression) storedFalse5++;
      }
      previousBase = r.base;
      log(
        `aa: comparison ${i + 1}/${comparisons}: p95 ${p95 ? `${p95.delta.toFixed(1)} %` : 'n/a'}${r.regression?.regression ? ' REGRESSION' : ''}`,
      );
    }
    const rate = interleavedFalse / comparisons;
    return {
      comparisons,
      roundsPerSide: rounds,
      roundMs,
      rps,
      server: 'two processes of identical code (2 ms wait + JSON), pinned to CPU 0',
      interleaved: {
        falseRegressions: interleavedFalse,
        rate: round3(rate),
        upper95: round3(upper95(interleavedFalse, comparisons)),
        p95DeltaPct: { min: Math.min(...deltas), max: Math.max(...deltas) },
        atPowerThreshold: {
          thresholdPct: atPower.latencyPct,
          falseRegressions: interleavedFalseAtPower,
          rate: round3(interleavedFalseAtPower / comparisons),
          upper95: round3(upper95(interleavedFalseAtPower, comparisons)),
        },
      },
      storedBaseline: {
        judged: storedJudged,
        method: "the head's rounds against the previous comparison's 5 base rounds (another time)",
        oneHeadRound: {
          falseRegressions: storedFalse,
          rate: round3(storedJudged ? storedFalse / storedJudged : 0),
          upper95: round3(upper95(storedFalse, Math.max(1, storedJudged))),
        },
        fiveHeadRounds: {
          falseRegressions: storedFalse5,
          rate: round3(storedJudged ? storedFalse5 / storedJudged : 0),
          upper95: round3(upper95(storedFalse5, Math.max(1, storedJudged))),
        },
      },
      // ≤ 5 % is claimed only when the 95 % upper bound is ≤ 5 % (0 false in ≥ 59 comparisons).
      target: 'false-regression rate ≤ 5 % by its 95 % upper bound',
      met: upper95(interleavedFalse, comparisons) <= 0.05,
    };
  } finally {
    a.stop();
    b.stop();
  }
}

// ---------------------------------------------------------------- 4. power

const aaSlo = () =>
  defineSlo({
    id: 'bench-aa',
    endpoint: { method: 'GET', path: '/items' },
    load: { kind: 'rate', rps: num('aa-rps'), duration: num('aa-round-ms') },
    budgets: { p95: 1000, errorRate: 0.01 },
    warmup: '200ms',
  });

/**
 * An injected +15 % p95 regression: the head server spends extra CPU per request, sized from
 * the base's own p95 (measured first), so the head's p95 is about 15 % higher. Interleaved
 * rounds as in the A/A part. A regression of exactly the default threshold (+15 %) is called
 * about half the time by construction (its lower bound must clear 15 %), so the same rounds
 * are judged at the default and at `power-threshold-pct` (5 %); the A/A part reports its false
 * rate at both thresholds, beside these.
 */
async function power() {
  const comparisons = num('power-comparisons');
  const rounds = num('aa-rounds');
  const base = await startChild('aa');
  const slo = aaSlo();
  const thresholdPct = num('power-threshold-pct');
  try {
    const probe = await measureSlo(base.url, slo, { rounds: 3, baselineDir: false });
    const p95Us = probe.measurement.latency.p95Us;
    // Calibrated: extra CPU of 15 % of the p95 raises the p95 by more (requests queue behind
    // it), so the extra is scaled until interleaved rounds measure +13–17 %.
    let extraUs = Math.round(0.15 * p95Us);
    let head = await startChild('aa', extraUs);
    const calibration: { extraUs: number; p95DeltaPct: number }[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await measureSlo(head.url, slo, { base: base.url, rounds, baselineDir: false });
      const d = r.regression?.comparisons.find((x) => x.key === 'p95Ms')?.delta ?? Number.NaN;
      calibration.push({ extraUs, p95DeltaPct: round3(d) });
      log(`power: calibration ${i + 1}: extra ${extraUs} µs → p95 ${d.toFixed(1)} %`);
      if (!Number.isFinite(d) || (d >= 13 && d <= 17)) break;
      head.stop();
      extraUs = Math.max(1, Math.round(extraUs * (15 / Math.max(d, 1))));
      head = await startChild('aa', extraUs);
    }
    try {
      let detected = 0;
      let detectedAtPower = 0;
      const deltas: number[] = [];
      for (let i = 0; i < comparisons; i++) {
        const r = await measureSlo(head.url, slo, { base: base.url, rounds, baselineDir: false });
        const c = r.regression?.comparisons.find((x) => x.key === 'p95Ms');
        if (c) deltas.push(round3(c.delta));
        if (r.regression?.regression) detected++;
        const strict =
          r.base &&
          compareRounds(r.base.rounds, r.measurement.rounds, {
            method: 'interleaved',
            percentiles: [95],
            throughput: false,
            seed: `power-${i}`,
            thresholds: { latencyPct: thresholdPct },
          }).regression;
        if (strict) detectedAtPower++;
        log(
          `power: comparison ${i + 1}/${comparisons}: p95 ${c ? `${c.delta.toFixed(1)} %` : 'n/a'}${r.regression?.regression ? ' detected' : ''}${strict ? ` detected at +${thresholdPct} %` : ''}`,
        );
      }
      const sorted = [...deltas].sort((a, b) => a - b);
      return {
        comparisons,
        roundsPerSide: rounds,
        injected: { extraCpuUs: extraUs, baseP95Ms: round3(p95Us / 1000), intended: '+15 % p95', calibration },
        measuredP95DeltaPct: { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) },
        atDefaultThreshold: { thresholdPct: 15, detected, rate: round3(detected / comparisons) },
        atPowerThreshold: {
          thresholdPct,
          detected: detectedAtPower,
          rate: round3(detectedAtPower / comparisons),
        },
        target: 'detected in ≥ 95 % of comparisons (at the power threshold; its A/A false rate is in aa)',
        met: detectedAtPower / comparisons >= 0.95,
      };
    } finally {
      head.stop();
    }
  } finally {
    base.stop();
  }
}

// ---------------------------------------------------------------- 5. noisy neighbour

/**
 * A neighbour as on a shared machine: on any CPU (not the generators' pinned one) and at the
 * default priority (not the bench's raised one).
 */
function neighbour(args: string[], stdout: 'ignore' | 'pipe' = 'ignore') {
  const all = `0-${cpus().length - 1}`;
  const stdio = ['ignore', stdout, 'ignore'] as ('ignore' | 'pipe')[];
  const child = hasTaskset
    ? spawn('taskset', ['-c', all, process.execPath, ...args], { stdio })
    : spawn(process.execPath, args, { stdio });
  child.once('spawn', () => {
    try {
      setPriority(child.pid as number, 0);
    } catch {
      // not root: it already runs at the default priority
    }
  });
  return child;
}

/** A busy loop (another process) holding a core until stopped. */
function busyLoop(): () => void {
  const child = neighbour(['-e', 'for(;;){}']);
  return () => child.kill('SIGKILL');
}

/**
 * A second process doing Postgres work: CPU-heavy queries back to back on a real server. Its
 * backend (forked by a server this bench started, so pinned and prioritised like the bench)
 * is moved to any CPU at the default priority, like the client.
 */
async function postgresWork(): Promise<(() => Promise<void>) & { died(): string | undefined }> {
  const { startPostgres } = await import('../plugins/postgres/index.ts');
  const server = await startPostgres({ log: () => {} });
  const code = `const pg=require(${JSON.stringify(require.resolve('pg'))});const c=new pg.Client(process.argv[1]);c.connect().then(async()=>{const r=await c.query('select pg_backend_pid() as pid');process.stdout.write(r.rows[0].pid+'\\n');for(;;)await c.query("select count(*) from generate_series(1,300000) i where md5(i::text) like 'a%'")}).catch(e=>{process.stderr.write(e.message);process.exit(1)})`;
  const child = neighbour(['-e', code, server.adminUrl], 'pipe');
  const backend = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`the Postgres neighbour exited (${c})`)));
  });
  if (hasTaskset) spawnSync('taskset', ['-a', '-cp', `0-${cpus().length - 1}`, String(backend)], { stdio: 'ignore' });
  try {
    setPriority(backend, 0);
  } catch {
    // not root
  }
  // A neighbour that stops (a failing query) would leave a quiet machine: the part says so.
  let died: string | undefined;
  child.once('exit', (c) => {
    died ??= `the Postgres neighbour exited (code ${c})`;
  });
  return Object.assign(
    async () => {
      died ??= 'stopped';
      child.kill('SIGKILL');
      await server.stop();
    },
    { died: () => (died === 'stopped' ? undefined : died) },
  );
}

/** Why a neighbour stopped before the part ended (undefined when it ran throughout). */
const diedOf = (stop: unknown) => (stop as { died?: () => string | undefined }).died?.();

/**
 * False regressions against a stored baseline under a noisy neighbour, the CLI default (one
 * head round, with the lateness guard). The baseline is recorded on the quiet machine (5
 * rounds); then each neighbour runs while the same build is measured `noisy-comparisons` times.
 */
async function noisy() {
  const n = num('noisy-comparisons');
  const srv = await startChild('aa');
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-noisy-'));
  const slo = aaSlo();
  try {
    const recorded = await measureSlo(srv.url, slo, { rounds: 5, baselineDir: dir, updateBaseline: true });
    const out: Record<string, unknown> = {
      baselineNoise: recorded.measurement.rounds.map((x) => x.noise),
    };
    const conditions: [string, () => Promise<() => void | Promise<void>>][] = [
      ['busyLoopOnOneCore', async () => busyLoop()],
      ['postgresWorkInAnotherProcess', postgresWork],
    ];
    for (const [name, start] of conditions) {
      const stop = await start();
      let falseCalls = 0;
      let inconclusive = 0;
      let extraRounds = 0;
      let judgedAnyway = 0;
      let unguarded = 0;
      const calls: unknown[] = [];
      const others: number[] = [];
      try {
        await new Promise((r) => setTimeout(r, 500));
        for (let i = 0; i < n; i++) {
          const r = await measureSlo(srv.url, slo, { rounds: 1, baselineDir: dir });
          if (r.regression?.regression) {
            falseCalls++;
            // What the guard saw in a round it let through: for deciding its limits.
            calls.push({
              comparison: i + 1,
              p95DeltaPct: round3(r.regression.comparisons.find((c) => c.key === 'p95Ms')?.delta ?? Number.NaN),
              headNoise: r.measurement.rounds.map((x) => x.noise),
            });
          }
          if (r.status === 'inconclusive') inconclusive++;
          extraRounds += r.measurement.rounds.length - 1;
          others.push(r.measurement.rounds[0]?.noise?.othersRunnable ?? Number.NaN);
          if (r.regression?.notes.some((x) => x.includes('judged anyway'))) judgedAnyway++;
          // The first head round judged as it would be without the guard, for contrast.
          const first = r.measurement.rounds[0];
          const opts = { method: 'baseline' as const, percentiles: [95], throughput: false, seed: `noisy-${i}` };
          if (first && compareRounds(recorded.measurement.rounds, [first], opts).regression) unguarded++;
          log(
            `noisy (${name}): ${i + 1}/${n}${r.regression?.regression ? ' FALSE REGRESSION' : ''}${r.status === 'inconclusive' ? ' inconclusive' : ''}`,
          );
        }
      } finally {
        await stop();
      }
      out[name] = {
        comparisons: n,
        falseRegressions: falseCalls,
        rate: round3(falseCalls / n),
        upper95: round3(upper95(falseCalls, n)),
        inconclusive,
        extraRoundsRun: extraRounds,
        judgedAnyway,
        withoutGuard: { falseRegressions: unguarded, rate: round3(unguarded / n) },
        falseCalls: calls,
        // The neighbour as the guard measured it (tasks other processes kept runnable).
        othersRunnableMedian: round3(median(others.filter(Number.isFinite))),
        ...(diedOf(stop) ? { invalid: diedOf(stop) } : {}),
        met: upper95(falseCalls, n) <= 0.05,
      };
    }
    return {
      ...out,
      target: 'false regressions ≤ 5 % by the 95 % upper bound, one head round against a stored baseline',
    };
  } finally {
    srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

if (values.serve) {
  serve(values.serve);
} else {
  // Load generators (this process and its worker thread) on CPU 1; servers on CPU 0.
  if (hasTaskset) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  // On a machine shared with other work, a higher priority (root only) keeps the neighbours'
  // CPU use out of the figures. Threads and children created from now on inherit it.
  let nice: number | string = 0;
  try {
    setPriority(Number(values.nice));
    nice = Number(values.nice);
  } catch (err) {
    nice = `unchanged (${(err as Error).message})`;
  }
  const parts = String(values.parts).split(',');
  const out: Record<string, unknown> = {
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      loadavg1m: round3(loadavg()[0] ?? 0),
      nice,
    },
  };
  if (parts.includes('fidelity')) out.fidelity = await fidelity();
  if (parts.includes('ceiling')) out.ceiling = await ceiling();
  if (parts.includes('aa')) out.aa = await aa();
  if (parts.includes('power')) out.power = await power();
  if (parts.includes('noisy')) out.noisy = await noisy();
  (out.machine as Record<string, unknown>).loadavg1mAtEnd = round3(loadavg()[0] ?? 0);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  process.exit(0);
}
