import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { onTeardown } from './core/cleanup.ts';
import { checkModuleRefs, loadModuleFunction, type ResolvedOptions } from './core/config.ts';
import { DatabaseError } from './core/errors.ts';
import { pgConnectOptions } from './core/pg-timeouts.ts';
import { type Progress, progress } from './core/progress.ts';
import { createMigrator } from './migrate/index.ts';
import type { Migrator } from './migrate/migrator.ts';
import { type FactoryPool, measureFactoryPool } from './pool-probe.ts';
import { Databases } from './postgres/databases.ts';
import { startPostgres } from './postgres/index.ts';
import type { ProviderName, StartedPostgres } from './postgres/provider.ts';
import { registerReapable } from './reaper/reaper.ts';

/**
 * One run's database session, shared by the Vitest and Playwright adapters: start one server,
 * sweep leftovers of crashed runs, check connection capacity, build (or reuse) the template.
 * What workers need is in `runtime`, which is plain data so it can cross process boundaries.
 */

/** Plain-data description of the session, handed to workers (Vitest `provide`, env for Playwright). */
export interface SessionRuntime {
  adminUrl: string;
  provider: ProviderName;
  /** Docker container id when the provider is testcontainers. */
  containerId?: string;
  major: number;
  runId: string;
  prefix: string;
  template: string;
  templateHash: string;
  poolSize: number;
  isolation: ResolvedOptions['isolation'];
  keepOnFailure: boolean;
  /** Query capture and the repeated-shape check (config key `queries`). */
  queries: { capture: boolean; check: boolean; allow: string[] };
  prisma?: string;
  app?: string;
  root: string;
}

/** Timings of the session start, in microseconds. */
export interface SessionTimings {
  serverStartUs: number;
  templateUs: number;
  templateBuilt: boolean;
}

export interface Session extends AsyncDisposable {
  runtime: SessionRuntime;
  server: StartedPostgres;
  databases: Databases;
  timings: SessionTimings;
  /** Drops this run's databases (kept ones stay, and keep the server up), stops the server. */
  stop(): Promise<void>;
}

/** Builds the configured migrator. */
export async function migratorFor(options: ResolvedOptions): Promise<Migrator> {
  const m = options.migrator;
  if (m.kind === 'function') {
    const ref = m.module;
    const fn = await loadModuleFunction<() => Migrator | Promise<Migrator>>(ref, options.root, 'migrator.module');
    return await fn();
  }
  return createMigrator(m);
}

/** Hash input for the seed: the module's source, so editing the seed rebuilds the template. */
async function seedKey(ref: string | undefined): Promise<string | undefined> {
  if (!ref) return undefined;
  const file = ref.slice(0, ref.lastIndexOf('#'));
  return createHash('sha256')
    .update(ref)
    .update(await readFile(file))
    .digest('hex');
}

/**
 * Checks that `workers` × per-worker connections fits the server's free connection slots,
 * and says what to change when it does not.
 */
export async function checkConnectionCapacity(
  adminUrl: string,
  workers: number,
  poolSize: number,
  appPool: FactoryPool = { connections: 0, how: '' },
): Promise<void> {
  const client = new pg.Client({ ...pgConnectOptions(), connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ max: number; reserved: number; used: number }>(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`,
    );
    const row = rows[0];
    if (!row) return;
    // Per worker: its pool, the app's own pool (the prisma factory's), plus the test-scoped
    // clone and admin connections shipgate opens.
    const perWorker = poolSize + appPool.connections + 3;
    const needed = workers * perWorker + 4;
    const free = row.max - row.reserved - row.used;
    const app = appPool.connections ? ` + prisma factory's pool ${appPool.connections}` : '';
    if (needed > free) {
      throw new DatabaseError(
        'SHIPGATE_DB_CAPACITY',
        `Not enough Postgres connections: ${workers} workers × (poolSize ${poolSize}${app} + 3) + 4 = ${needed} needed, ${free} free (max_connections ${row.max}, ${row.reserved} reserved, ${row.used} in use${appPool.how ? `; factory pool ${appPool.how}` : ''}).`,
        {
          hint: `Lower poolSize or maxWorkers${app ? ", or the factory's pool (e.g. new PrismaPg({ max }))" : ''}, or raise postgres.maxConnections / SHIPGATE_PG_MAX_CONNECTIONS.`,
        },
      );
    }
  } finally {
    await client.end();
  }
}

/** Starts a session. `workers` is the number of parallel test workers that will connect. */
export async function startSession(
  options: ResolvedOptions,
  opts: { workers: number; log?: (line: string) => void },
): Promise<Session> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // A typo in a module reference (seed, prisma, app, migrator.module) is found before a server starts.
  await checkModuleRefs(options);
  const t0 = performance.now();
  const serverProgress = progress('starting Postgres');
  let server: StartedPostgres;
  try {
    server = await startPostgres({ ...options.postgres, log });
  } catch (err) {
    serverProgress.fail(err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err));
    throw err;
  }
  const serverStartUs = Math.round((performance.now() - t0) * 1000);
  serverProgress.done(`${server.provider}, Postgres ${server.version}`);
  let templateProgress: Progress | undefined;
  const databases = new Databases(server.adminUrl, {
    prefix: options.postgres.prefix,
    major: server.major,
    log,
    onProgress: (m) => {
      templateProgress ??= progress('building the template database');
      templateProgress.update(m);
    },
  });
  // On a persistent server the run's databases outlive a killed runner: list them for the reaper.
  const unreap = server.ephemeral
    ? () => {}
    : registerReapable({
        kind: 'databases',
        adminUrl: server.adminUrl,
        prefix: databases.prefix,
        runId: databases.runId,
      });
  // A second caller (a runner's teardown after a signal handler began stopping) must wait for
  // the stop in progress, not return while the container is still being removed.
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= doStop();
    return stopping;
  };
  const doStop = async () => {
    unregister();
    let kept: string[] = [];
    try {
      kept = (await databases.list())
        .filter((d) => d.kind === 'k' && d.runId === databases.runId && d.owned)
        .map((d) => d.name);
      // An ephemeral server takes its databases with it: dropping them first only adds a wait
      // (and, on a frozen server, another timeout). One that stays up, persistent or holding a
      // kept database, must be left with nothing else of this run.
      if (!server.ephemeral || kept.length) await databases.dropRun();
    } finally {
      await databases.close();
      if (kept.length && server.ephemeral) {
        log(
          `shipgate: kept ${kept.length} database(s) after failures; server left running at ${server.adminUrl} (${server.detail})`,
        );
      } else {
        await server.stop();
      }
      unreap();
    }
  };
  const unregister = onTeardown('shipgate session', stop);
  try {
    // The lease first: from here on, other runs' sweeps see this run as alive.
    await databases.acquireLease();
    await databases.sweep();
    // In rollback isolation the factory is handed shipgate's pool; otherwise it opens its own.
    const appPool =
      options.prisma && options.isolation !== 'rollback'
        ? await measureFactoryPool(options.prisma, options.root, databases)
        : undefined;
    if (appPool && appPool.connections === 0) {
      log(`shipgate: the prisma factory's pool was ${appPool.how}; the connection check counts shipgate's pools only`);
    }
    await checkConnectionCapacity(server.adminUrl, opts.workers, options.poolSize, appPool);
    const migrator = await migratorFor(options);
    const seed = options.seed
      ? await loadModuleFunction<(url: string) => Promise<void>>(options.seed, options.root, 'seed')
      : undefined;
    const t1 = performance.now();
    let template: Awaited<ReturnType<Databases['ensureTemplate']>>;
    try {
      template = await databases.ensureTemplate(migrator, { seed, seedKey: await seedKey(options.seed) });
    } catch (err) {
      templateProgress?.fail(err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err));
      throw err;
    }
    const templateUs = Math.round((performance.now() - t1) * 1000);
    templateProgress?.done(template.name);
    if (!template.built) log(`shipgate: template ${template.name} reused (unchanged migrations)`);
    const runtime: SessionRuntime = {
      adminUrl: server.adminUrl,
      provider: server.provider,
      containerId: server.containerId,
      major: server.major,
      runId: databases.runId,
      prefix: databases.prefix,
      template: template.name,
      templateHash: template.hash,
      poolSize: options.poolSize,
      isolation: options.isolation,
      keepOnFailure: options.keepOnFailure,
      queries: options.queries,
      prisma: options.prisma,
      app: options.app,
      root: options.root,
    };
    return {
      runtime,
      server,
      databases,
      timings: { serverStartUs, templateUs, templateBuilt: template.built },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
