/**
 * `pnpm bench:chaos`: what the chaos fixtures and the metrics cost, and how exact they are,
 * printing JSON. Milliseconds with 3 decimals (microseconds internally); percentiles are
 * nearest-rank on unrounded samples. Measured:
 * - TCP proxy overhead: `SELECT 1` round trips direct vs through the proxy (no fault);
 *   throughput of an 8 MiB result direct vs through it;
 * - fault accuracy: added latency against a configured 20 ms; a 4 MiB/s bandwidth limit;
 * - HTTP fault injector overhead: a GET to a local upstream direct vs through it;
 * - the example app: recovery time after Postgres comes back (default settings), and the
 *   cost of its resilience wrapper on one Prisma query;
 * - parsing a Prometheus exposition (the app's own, and a synthetic 5,000-series one).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createApp } from '../example/src/app.ts';
import { createPrisma } from '../example/src/db.ts';
import { withDbResilience } from '../example/src/db-resilience.ts';
import { transactional } from '../example/src/idempotency.ts';
import { createMetrics } from '../example/src/metrics.ts';
import { CircuitBreaker } from '../example/src/resilience.ts';
import { startHttpFaults } from '../plugins/chaos/http-faults.ts';
import { startTcpProxy } from '../plugins/chaos/tcp-proxy.ts';
import { summarize } from '../plugins/core/stats.ts';
import { parsePrometheusText } from '../plugins/metrics/prometheus.ts';
import { createMigrator } from '../plugins/migrate/index.ts';
import { Databases } from '../plugins/postgres/databases.ts';
import { startPostgres } from '../plugins/postgres/index.ts';

const { values } = parseArgs({
  options: {
    'round-trips': { type: 'string', default: '500' },
    recoveries: { type: 'string', default: '3' },
  },
});
const N = Number(values['round-trips']);
const ms = (us: number) => Math.round(us) / 1000;
const msStats = (us: number[]) =>
  Object.fromEntries(Object.entries(summarize(us)).map(([k, v]) => [k, k === 'n' ? v : ms(v)]));
const since = (t: number) => (performance.now() - t) * 1000;
const log = (line: string) => process.stderr.write(`${line}\n`);

async function samples(n: number, fn: () => Promise<unknown>, warmup = 20): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(since(t));
  }
  return out;
}

/** Samples of `a` and `b` interleaved (order alternating), so drift and noise hit both alike. */
async function paired(n: number, a: () => Promise<unknown>, b: () => Promise<unknown>, warmup = 20) {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const out: [number[], number[]] = [[], []];
  for (let i = 0; i < n; i++) {
    for (const j of i % 2 ? [1, 0] : [0, 1]) {
      const t = performance.now();
      await (j === 0 ? a() : b());
      out[j]?.push(since(t));
    }
  }
  return out;
}

const server = await startPostgres({ log });
const dbs = new Databases(server.adminUrl, { prefix: 'sgbench', major: server.major });
const db = await dbs.createEmpty();
const result: Record<string, unknown> = {
  provider: server.provider,
  postgres: server.version,
  node: process.version,
  unit: 'ms',
};
try {
  await createMigrator({ kind: 'prisma-sql', migrationsDir: 'example/prisma/migrations' }).migrate(db.url);
  const proxy = await startTcpProxy({ target: db.url, name: 'bench' });
  const direct = new pg.Client(db.url);
  const via = new pg.Client(proxy.url(db.url));
  await direct.connect();
  await via.connect();

  log('tcp proxy: round trips');
  const [rtDirect, rtProxy] = await paired(
    N,
    () => direct.query('SELECT 1'),
    () => via.query('SELECT 1'),
  );
  const big = `SELECT repeat('x', ${8 * 1024 * 1024}) AS b`;
  const mib = (us: number[]) => Math.round((8 / (summarize(us).p50 / 1e6)) * 10) / 10;
  const [tpDirect, tpProxy] = await paired(
    5,
    () => direct.query(big),
    () => via.query(big),
    1,
  );
  result.tcpProxy = {
    selectOneDirect: msStats(rtDirect),
    selectOneViaProxy: msStats(rtProxy),
    addedP50: ms(summarize(rtProxy).p50 - summarize(rtDirect).p50),
    result8MiBDirectMiBps: mib(tpDirect),
    result8MiBViaProxyMiBps: mib(tpProxy),
  };

  log('tcp proxy: fault accuracy');
  proxy.latency({ ms: 20 });
  const withLatency = await samples(50, () => via.query('SELECT 1'), 2);
  const added = withLatency.map((us) => us - summarize(rtProxy).p50);
  await proxy.clear();
  const twoMiB = `SELECT repeat('x', ${2 * 1024 * 1024}) AS b`;
  const unlimited = await samples(5, () => via.query(twoMiB), 1);
  proxy.bandwidth({ bytesPerSecond: 4 * 1024 * 1024, direction: 'downstream' });
  const limited = await samples(3, () => via.query(twoMiB), 0);
  await proxy.clear();
  result.faultAccuracy = {
    latencyConfigured: 20,
    latencyAdded: msStats(added),
    bandwidthConfiguredMiBps: 4,
    // Whole query time, and the link alone (minus the same query's time without the limit).
    bandwidthEffectiveMiBps: Math.round((2 / (summarize(limited).p50 / 1e6)) * 100) / 100,
    bandwidthLinkMiBps: Math.round((2 / ((summarize(limited).p50 - summarize(unlimited).p50) / 1e6)) * 100) / 100,
  };
  await direct.end();
  await via.end();

  log('http fault injector: forwarding overhead');
  const upstream = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const faults = await startHttpFaults({ target: upstreamUrl });
  const get = (url: string) => fetch(url).then((r) => r.text());
  const [httpDirect, httpVia] = await paired(
    N,
    () => get(upstreamUrl),
    () => get(faults.url),
  );
  result.httpFaults = {
    getDirect: msStats(httpDirect),
    getViaInjector: msStats(httpVia),
    addedP50: ms(summarize(httpVia).p50 - summarize(httpDirect).p50),
  };
  await faults.close();
  await new Promise<void>((r) => upstream.close(() => r()));

  log('example app: recovery after Postgres comes back (default settings)');
  const prisma = createPrisma(proxy.url(db.url));
  const app = createApp({ prisma, log: () => {} });
  const http = app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const status = async () => (await fetch(`${base}/api/tickets`)).status;
  const recoveryUs: number[] = [];
  for (let i = 0; i < Number(values.recoveries); i++) {
    await proxy.down();
    // Enough failures to open the circuit, as real traffic would.
    for (let k = 0; k < 6; k++) await status();
    await proxy.up();
    const t = performance.now();
    while ((await status()) !== 200) await new Promise((r) => setTimeout(r, 20));
    recoveryUs.push(since(t));
  }
  result.exampleApp = {
    recoveryAfterUp: msStats(recoveryUs),
    recoveryNote: 'DB_BREAKER_COOLDOWN_MS=2000 (default): fail-fast until the cool-down ends, then one trial query',
  };

  log('example app: resilience wrapper cost on one query');
  const raw = createPrisma(db.url);
  const benchMetrics = createMetrics();
  const wrapped = transactional(
    withDbResilience(raw, {
      timeoutMs: 5_000,
      retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 1_000 },
      breaker: new CircuitBreaker({ name: 'database', threshold: 5, cooldownMs: 2_000 }),
      observe: (labels, seconds) => benchMetrics.dbDuration.observe(labels, seconds),
    }),
  );
  const q = (c: typeof raw) => c.user.findMany({ take: 20 });
  const [opRaw, opWrapped] = await paired(
    N,
    () => q(raw),
    () => q(wrapped),
    50,
  );
  result.resilienceWrapper = {
    findManyRaw: msStats(opRaw),
    findManyWrapped: msStats(opWrapped),
    addedP50: ms(summarize(opWrapped).p50 - summarize(opRaw).p50),
  };

  log('prometheus text parsing');
  for (let i = 0; i < 200; i++) await fetch(`${base}/api/tickets?limit=5`).then((r) => r.arrayBuffer());
  const appText = await (await fetch(`${base}/metrics`)).text();
  const lines: string[] = ['# TYPE h_seconds histogram'];
  for (let s = 0; s < 5_000 / 14; s++) {
    for (const le of ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']) {
      lines.push(`h_seconds_bucket{route="/r/${s}",method="GET",status="200",le="${le}"} ${s}`);
    }
    lines.push(`h_seconds_sum{route="/r/${s}",method="GET",status="200"} 1.5`);
    lines.push(`h_seconds_count{route="/r/${s}",method="GET",status="200"} ${s}`);
  }
  const synthetic = lines.join('\n');
  result.parsing = {
    appExpositionBytes: appText.length,
    appExposition: msStats(await samples(50, async () => parsePrometheusText(appText), 5)),
    synthetic5000SeriesBytes: synthetic.length,
    synthetic5000Series: msStats(await samples(10, async () => parsePrometheusText(synthetic), 2)),
  };

  await new Promise<void>((r) => http.close(() => r()));
  await prisma.$disconnect();
  await raw.$disconnect();
  await proxy.close();
} finally {
  await db.drop();
  await dbs.close();
  await server.stop();
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
