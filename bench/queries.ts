/**
 * `pnpm bench:queries`: deterministic query budgets against latency budgets, printing JSON.
 * The example app over Prisma 7 (@prisma/adapter-pg) on a real Postgres, served on loopback;
 * statements read by shipgate's query tap (plugins/queries), requests attributed by window.
 *
 * - `aaFlipRate`: `runs` A/A runs of a deterministic budget (GET /api/tickets runs at most the
 *   queries the idle run did, no shape repeated), under a busy loop on one core: the share of
 *   runs whose verdict differs from the idle run's. Goal 0.
 * - `aaFlipRateLatency`: the same runs judged by a p95 budget of 1.2 × the idle p95 (the
 *   median of 3 idle runs of `requests` requests): the share that fail. Shows the difference.
 * - `n1Injected` / `n1Detected`: N+1 routes of three kinds (a Prisma loop, a raw pg loop, a
 *   loop inside an interactive transaction), each at 2, 5 and 20 rows: caught when a shape
 *   repeats and the count grows with the rows. A route loading the same rows with an include
 *   is the control (`falsePositives`). A missing index: a filter on an unindexed column over
 *   20,000 rows, caught when the plan check names the index; a lookup by key is its control.
 * - `captureOverheadPct`: the p50 latency of GET /api/tickets/:id (3 queries) through the tap
 *   against the same database direct, interleaved requests, two apps in one process.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import express from 'express';
import { createApp } from '../example/src/app.ts';
import { createPrisma, type PrismaClient } from '../example/src/db.ts';
import { summarize } from '../plugins/core/stats.ts';
import { createMigrator } from '../plugins/migrate/index.ts';
import { Databases, startPostgres } from '../plugins/postgres/index.ts';
import { checkPlans, RequestLedger, repeatedShapes, startQueryTap } from '../plugins/queries/index.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    requests: { type: 'string', default: '200' },
    'overhead-requests': { type: 'string', default: '2000' },
  },
});
const runs = Number(values.runs);
const requests = Number(values.requests);
const log = (line: string) => process.stderr.write(`bench:queries ${line}\n`);
const round3 = (v: number) => Math.round(v * 1000) / 1000;
const root = new URL('..', import.meta.url).pathname;

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(port: number, path: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function withSpecRoutes(prisma: PrismaClient, pool: { query(text: string, values?: unknown[]): Promise<unknown> }) {
  const app = express();
  app.get('/n1/prisma', async (_req, res) => {
    const tickets = await prisma.ticket.findMany({ orderBy: { id: 'asc' }, take: Number(_req.query.rows) });
    for (const t of tickets) await prisma.user.findUnique({ where: { id: t.authorId } });
    res.json(tickets.length);
  });
  app.get('/n1/raw', async (req, res) => {
    const { rows } = (await pool.query('SELECT id, "authorId" FROM tickets ORDER BY id LIMIT $1', [
      Number(req.query.rows),
    ])) as { rows: { id: number; authorId: number }[] };
    for (const r of rows) await pool.query('SELECT name FROM users WHERE id = $1', [r.authorId]);
    res.json(rows.length);
  });
  app.get('/n1/transaction', async (req, res) => {
    const n = await prisma.$transaction(async (tx) => {
      const tickets = await tx.ticket.findMany({ orderBy: { id: 'asc' }, take: Number(req.query.rows) });
      for (const t of tickets) await tx.message.count({ where: { ticketId: t.id } });
      return tickets.length;
    });
    res.json(n);
  });
  // A filter on a column no index covers (tickets.body), and a lookup by key as its control.
  app.get('/missing-index', async (req, res) => {
    res.json((await prisma.ticket.findMany({ where: { body: String(req.query.body) } })).length);
  });
  app.get('/control/by-id', async (req, res) => {
    res.json(await prisma.ticket.findUnique({ where: { id: Number(req.query.id) } }));
  });
  app.get('/control/include', async (req, res) => {
    const tickets = await prisma.ticket.findMany({
      orderBy: { id: 'asc' },
      take: Number(req.query.rows),
      include: { author: true },
    });
    res.json(tickets.length);
  });
  app.use(createApp({ prisma, log: () => {} }));
  return app;
}

async function listen(app: express.Express): Promise<{ port: number; close(): Promise<void> }> {
  const srv = http.createServer(app);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

const server = await startPostgres({ log });
const dbs = new Databases(server.adminUrl, { prefix: 'sgbench', major: server.major });
const out: Record<string, unknown> = { provider: server.provider, postgres: server.version, node: process.version };
try {
  const template = await dbs.ensureTemplate(
    createMigrator({ kind: 'prisma-sql', migrationsDir: `${root}example/prisma/migrations` }),
  );
  const database = await dbs.clone(template.name);
  const tap = await startQueryTap(database.url);
  const ledger = new RequestLedger(tap);
  const direct = createPrisma(database.url, { max: 4 });
  const tapped = createPrisma(tap.url(database.url), { max: 4 });
  const pg = (await import('pg')).default;
  const rawPool = new pg.Pool({ connectionString: tap.url(database.url), max: 2 });
  const viaTap = await listen(withSpecRoutes(tapped, rawPool));
  const plain = await listen(withSpecRoutes(direct, rawPool));
  try {
    // 20 users, 40 tickets with 3 messages each.
    const users = await Promise.all(
      Array.from({ length: 20 }, (_, i) => direct.user.create({ data: { email: `u${i}@bench.test`, name: `U${i}` } })),
    );
    for (let i = 0; i < 40; i++) {
      const t = await direct.ticket.create({
        data: { authorId: (users[i % 20] as { id: number }).id, title: `T${i}`, body: 'Printer jam' },
      });
      await direct.message.createMany({
        data: [0, 1, 2].map((m) => ({ ticketId: t.id, authorId: t.authorId, body: `m${m}` })),
      });
    }

    const traced = async (path: string) => {
      const id = ledger.begin(`GET ${path}`);
      await get(viaTap.port, path);
      ledger.end(id);
      return ledger.queriesOf(id);
    };

    // N+1 detection: three kinds, three sizes, and the control.
    let injected = 0;
    let detected = 0;
    let falsePositives = 0;
    const cases: Record<string, unknown>[] = [];
    for (const route of ['/n1/prisma', '/n1/raw', '/n1/transaction', '/control/include']) {
      const counts: number[] = [];
      let repeated = 0;
      for (const rows of [2, 5, 20]) {
        const q = await traced(`${route}?rows=${rows}`);
        counts.push(q?.count ?? 0);
        if (q && repeatedShapes(q).length) repeated++;
      }
      const grows = (counts[2] as number) > (counts[0] as number);
      const caught = repeated === 3 && grows;
      if (route.startsWith('/n1/')) {
        injected++;
        if (caught) detected++;
      } else if (repeated || grows) falsePositives++;
      cases.push({ route, counts, repeatedAtEachSize: repeated === 3, countGrowsWithRows: grows });
    }

    // Missing index: 20,000 more tickets, analysed; the plan check on what each request ran.
    await rawPool.query(
      `INSERT INTO tickets (title, body, "authorId", "updatedAt")
       SELECT 'B' || i, 'body ' || (i % 500), $1, now() FROM generate_series(1, 20000) i`,
      [(users[0] as { id: number }).id],
    );
    await rawPool.query('ANALYZE tickets');
    const planned = async (path: string) => {
      const q = await traced(path);
      return checkPlans(rawPool, q?.statements ?? []);
    };
    const missing = await planned('/missing-index?body=body%207');
    const missingProblems = missing.queries.flatMap((x) => x.problems);
    injected++;
    if (missingProblems.some((p) => p.suggestion?.startsWith('CREATE INDEX ON "tickets" ("body")'))) detected++;
    const byId = await planned('/control/by-id?id=1');
    if (byId.queries.some((x) => x.problems.length)) falsePositives++;
    cases.push({
      route: '/missing-index',
      problems: missingProblems.map((p) => ({ kind: p.kind, table: p.table, rows: p.rows, suggestion: p.suggestion })),
    });
    cases.push({ route: '/control/by-id', problems: byId.queries.flatMap((x) => x.problems).length });

    // Capture overhead: interleaved requests, direct and through the tap.
    const overheadN = Number(values['overhead-requests']);
    const lat: [number[], number[]] = [[], []];
    for (let i = 0; i < 50; i++) {
      await get(plain.port, '/api/tickets/1');
      await get(viaTap.port, '/api/tickets/1');
    }
    for (let i = 0; i < overheadN; i++) {
      for (const j of i % 2 ? [1, 0] : [0, 1]) {
        const t = performance.now();
        await get(j === 0 ? plain.port : viaTap.port, '/api/tickets/1');
        lat[j]?.push((performance.now() - t) * 1000);
      }
    }
    const p50Direct = summarize(lat[0]).p50;
    const p50Tapped = summarize(lat[1]).p50;

    // A/A: one run is `requests` GET /api/tickets?limit=20 through the tap.
    const run = async () => {
      const runLedger = new RequestLedger(tap);
      const us: number[] = [];
      let maxCount = 0;
      let repeats = 0;
      for (let i = 0; i < requests; i++) {
        const id = runLedger.begin('GET /api/tickets?limit=20');
        const t = performance.now();
        await get(viaTap.port, '/api/tickets?limit=20');
        us.push((performance.now() - t) * 1000);
        runLedger.end(id);
      }
      for (const q of runLedger.requests()) {
        maxCount = Math.max(maxCount, q.count);
        if (repeatedShapes(q).length) repeats++;
      }
      return { p95Us: summarize(us).p95, maxCount, repeats };
    };
    log('A/A: idle runs');
    const idle = [await run(), await run(), await run()];
    const latencyBudgetUs = 1.2 * (summarize(idle.map((r) => r.p95Us)).p50 as number);
    const queryBudget = (idle[0] as { maxCount: number }).maxCount;
    const idleQueryOk = idle.every((r) => r.maxCount <= queryBudget && r.repeats === 0);
    log(`A/A: ${runs} runs under a busy loop on one core`);
    const loop = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    let queryFlips = 0;
    let latencyFlips = 0;
    const p95s: number[] = [];
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < runs; i++) {
        const r = await run();
        p95s.push(round3(r.p95Us / 1000));
        if (r.maxCount <= queryBudget && r.repeats === 0) {
          if (!idleQueryOk) queryFlips++;
        } else if (idleQueryOk) queryFlips++;
        if (r.p95Us > latencyBudgetUs) latencyFlips++;
      }
    } finally {
      loop.kill('SIGKILL');
    }

    Object.assign(out, {
      aaFlipRate: round3(queryFlips / runs),
      aaFlipRateLatency: round3(latencyFlips / runs),
      aa: {
        runs,
        requestsPerRun: requests,
        route: 'GET /api/tickets?limit=20',
        queryBudget: { maxQueries: queryBudget, repeatedShapes: 0 },
        latencyBudgetMs: round3(latencyBudgetUs / 1000),
        idleP95Ms: idle.map((r) => round3(r.p95Us / 1000)),
        loadedP95Ms: p95s,
        load: 'a busy loop (another process) on one of the cores',
      },
      n1Injected: injected,
      n1Detected: detected,
      falsePositives,
      n1Cases: cases,
      captureOverheadPct: round3((p50Tapped / p50Direct - 1) * 100),
      overhead: {
        route: 'GET /api/tickets/1 (3 queries)',
        requestsEach: overheadN,
        p50DirectMs: round3(p50Direct / 1000),
        p50TappedMs: round3(p50Tapped / 1000),
      },
      goals: { aaFlipRate: 0, n1Detected: 'all', captureOverheadPct: '≤ 5' },
    });
  } finally {
    await viaTap.close();
    await plain.close();
    agent.destroy();
    await direct.$disconnect();
    await tapped.$disconnect();
    await rawPool.end();
    await tap.close();
    await database.drop();
  }
} finally {
  await dbs.close();
  await server.stop();
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
