/**
 * `migrationSmoke(options)`: proves a PR's Prisma migrations on a seeded throwaway database.
 * The checks are the ordered list in `checks/index.ts`; this file runs them, preparing the
 * stages they need (server; base applied, seeded and snapshotted), then reconciles the lint
 * with what was measured and ranks the verdict. Every database it
 * creates carries its prefix and is dropped at the end, on failure, and on SIGINT/SIGTERM; a
 * hard kill is covered by the reaper.
 */
import type pg from 'pg';
import { onTeardown } from '../core/cleanup.ts';
import { loadModuleFunction } from '../core/config.ts';
import { MigrationError } from '../core/errors.ts';
import { progress } from '../core/progress.ts';
import { prismaEngineAvailable } from '../migrate/prisma.ts';
import { Databases, type TestDatabase } from '../postgres/databases.ts';
import { startPostgres } from '../postgres/index.ts';
import { readServerInfo } from '../postgres/server-info.ts';
import { registerReapable } from '../reaper/reaper.ts';
import { failureOf, migratorFor } from './apply.ts';
import { DumpArea } from './backup.ts';
import { connect, round, skipped } from './check-kit.ts';
import type { SeededBase, SmokeServer } from './checks/context.ts';
import { CHECKS, type SmokeCheck, type SmokeContext, type Stage } from './checks/index.ts';
import { ensureRoles } from './dependencies.ts';
import { takeSnapshot } from './fingerprint.ts';
import { introspect } from './introspect.ts';
import { reconcileLockTimeout } from './lock-timeout.ts';
import { resolveSmokeOptions, type SmokeOptions } from './options.ts';
import { findDumpTools, PgDumpError } from './pg-tools.ts';
import { resolveSchema } from './schema-path.ts';
import { seedByIntrospection } from './seed.ts';
import { readBase, readHead } from './sources.ts';
import { reconcileLint } from './squawk.ts';
import type { SeedSummary, SmokeResult } from './types.ts';
import { finalize } from './verdict.ts';

/** Runs the smoke and returns its result; bad input (missing folder, unknown ref, pg_dump mismatch) throws a ShipgateError. */
export async function migrationSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const opts = resolveSmokeOptions(options);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const steps: SmokeResult['steps'] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const step = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    const shown = opts.progress ? progress(`migration smoke: ${name}`) : undefined;
    let ok = false;
    try {
      const value = await fn();
      ok = true;
      return value;
    } finally {
      const durationMs = round(performance.now() - t);
      steps.push({ step: name, durationMs });
      if (shown) {
        if (ok) shown.done(`${durationMs} ms`);
        else shown.fail(`after ${durationMs} ms`);
      } else {
        opts.log(`shipgate smoke: ${name} ${durationMs} ms`);
      }
    }
  };
  const unregister = onTeardown('migration smoke', async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });
  try {
    const head = readHead(opts.head);
    const base = readBase(opts.base, {
      cwd: opts.cwd,
      head: opts.head,
      ...(opts.migrationsPath ? { migrationsPath: opts.migrationsPath } : {}),
    });
    cleanups.push(() => base.dispose());
    if (opts.migrator === 'prisma') {
      const engine = prismaEngineAvailable({ cwd: opts.cwd, ...(opts.prismaCli ? { cli: opts.prismaCli } : {}) });
      if (!engine.ok) {
        throw new MigrationError(
          'SHIPGATE_PRISMA_ENGINE_MISSING',
          `Migrator "prisma" cannot run \`prisma migrate deploy\`: ${engine.reason}.`,
          {
            hint: 'Set PRISMA_SCHEMA_ENGINE_BINARY to a real schema engine, or use migrator prisma-sql (--migrator prisma-sql, env SHIPGATE_MIGRATOR=prisma-sql).',
          },
        );
      }
    }
    const schema = resolveSchema(opts.schema, opts.head, opts.cwd);
    const result: SmokeResult = {
      format: 'shipgate.migration-smoke/v1',
      verdict: 'SAFE',
      exitCode: 0,
      failing: [],
      base: {
        source: base.source,
        label: base.label,
        migrations: base.migrations.map((m) => m.name),
        ...(base.commit ? { commit: base.commit } : {}),
      },
      head: { source: head.source, label: head.label, migrations: head.migrations.map((m) => m.name) },
      newMigrations: [],
      migrator: opts.migrator,
      server: { provider: 'none', version: '', major: 0 },
      settings: opts.settings,
      files: [],
      checks: [],
      steps,
      durationMs: 0,
      startedAt,
    };
    const ctx: SmokeContext = {
      opts,
      base,
      head,
      newMigrations: [],
      newFiles: [],
      schema,
      result,
      checks: result.checks,
      step,
      onCleanup: (fn) => cleanups.push(fn),
    };
    await runChecks(ctx, CHECKS);
    result.newMigrations = ctx.newMigrations;
    const byId = (id: string) => result.checks.find((c) => c.id === id);
    const lint = byId('lint');
    if (lint)
      reconcileLint(
        lint,
        result.checks.filter((c) => c.id === 'apply' || c.id === 'locks' || c.id === 'data'),
        new Set(result.files.map((f) => f.migration)),
      );
    if (ctx.apply?.failure) reconcileLockTimeout(result.checks, ctx.apply.failure, opts.settings.lockTimeout);
    await step('cleanup', async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });
    const { verdict, exitCode, failing } = finalize(result.checks, opts);
    for (const c of result.checks) c.durationMs = round(c.durationMs);
    if (result.seed) result.seed.durationMs = round(result.seed.durationMs);
    Object.assign(result, { verdict, exitCode, failing, durationMs: round(performance.now() - t0) });
    return result;
  } finally {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
    unregister();
  }
}

/**
 * Runs `checks` in order, each as a timed step named by its id, preparing the stage each needs
 * first. A check whose stage could not be reached (the base did not apply) or whose `skip` gives
 * a reason is reported SKIPPED with it.
 */
export async function runChecks(ctx: SmokeContext, checks: readonly SmokeCheck[]): Promise<void> {
  // A `concurrent` check runs while the ones after it do; its result keeps its place in the list.
  const pending: Promise<void>[] = [];
  const running = new Map<string, Promise<void>>();
  let thrown: { error: unknown } | undefined;
  try {
    for (const c of checks) {
      const blocked = await reach(ctx, c.needs);
      const reason = blocked ?? c.skip?.(ctx);
      if (reason !== undefined) {
        ctx.checks.push(skipped(c.id, c.title, reason));
        continue;
      }
      for (const id of c.waitsFor ?? []) await running.get(id);
      const t = performance.now();
      const slot = ctx.checks.push(skipped(c.id, c.title, 'still running')) - 1;
      const done = ctx
        .step(c.id, () => c.run(ctx))
        .then((outcome) => {
          if (!outcome.durationMs && outcome.verdict !== 'SKIPPED') outcome.durationMs = round(performance.now() - t);
          ctx.checks[slot] = outcome;
        });
      if (c.concurrent) {
        pending.push(done);
        running.set(
          c.id,
          done.catch(() => {}),
        );
      } else await done;
    }
  } catch (error) {
    thrown = { error };
  }
  // Even when a check throws, none is left running against databases about to be dropped.
  const settled = await Promise.allSettled(pending);
  if (thrown) throw thrown.error;
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Prepares `stage` (and those before it); returns why it cannot be reached, or undefined. */
async function reach(ctx: SmokeContext, stage: Stage): Promise<string | undefined> {
  if (stage === 'none') return undefined;
  ctx.server ??= await startServer(ctx);
  if (stage === 'server') return undefined;
  if (!ctx.seeded && !ctx.baseFailure) await prepareBase(ctx);
  if (stage === 'database') return undefined;
  return ctx.baseFailure ? 'the base migrations did not apply' : undefined;
}

async function startServer(ctx: SmokeContext): Promise<SmokeServer> {
  const { opts, step } = ctx;
  const server: SmokeServer = await step('server', async () => {
    if (opts.adminUrl) {
      const info = await readServerInfo(opts.adminUrl);
      return {
        adminUrl: opts.adminUrl,
        containerId: opts.containerId,
        provider: opts.containerId ? 'testcontainers' : 'external',
        major: info.major,
        version: info.version,
      };
    }
    const started = await startPostgres({ log: opts.log });
    ctx.onCleanup(() => started.stop());
    return {
      adminUrl: started.adminUrl,
      containerId: started.containerId,
      provider: started.provider,
      major: started.major,
      version: started.version,
    };
  });
  ctx.result.server = {
    provider: server.provider,
    version: server.version,
    major: server.major,
    ...(server.containerId ? { containerId: server.containerId } : {}),
  };
  return server;
}

/** Creates the target database, applies the base as production has it, seeds it, snapshots it and finds the dump tools. */
async function prepareBase(ctx: SmokeContext): Promise<void> {
  const { opts, step } = ctx;
  const server = ctx.server as SmokeServer;
  const dbs = new Databases(server.adminUrl, { prefix: opts.prefix, major: server.major });
  // Production's declared roles exist before the base applies (grants to them must work); dropped after the databases.
  ctx.onCleanup(await ensureRoles(server.adminUrl, opts.restoreRoles ?? [], dbs.runId, opts.log));
  const unreap = registerReapable({
    kind: 'databases',
    adminUrl: server.adminUrl,
    prefix: dbs.prefix,
    runId: dbs.runId,
  });
  ctx.onCleanup(async () => {
    await dbs.dropRun().catch(() => undefined);
    await dbs.close();
    unreap();
  });
  const target = await dbs.createEmpty(1);

  // Base, as production has it: plain session settings.
  const baseFailure = await step('apply-base', async () => {
    const { migrator, dispose } = migratorFor(opts.migrator, ctx.base.dir, opts.cwd, opts.prismaCli);
    try {
      await migrator.migrate(target.url);
      return undefined;
    } catch (err) {
      return failureOf(err, 0);
    } finally {
      dispose();
    }
  });
  if (baseFailure) {
    ctx.baseFailure = baseFailure;
    return;
  }
  const client = await connect(target.url);
  const seeded: SeededBase = {
    dbs,
    target,
    client,
    tables: [],
    snapshot: [],
    rows: new Map(),
    tools: { ok: false, reason: 'not looked for yet' },
    area: undefined,
    unusable: undefined,
  };
  ctx.onCleanup(() => seeded.client.end().catch(() => {}));
  ctx.result.seed = await step('seed', () => seed(client, target, opts));
  seeded.tables = await introspect(client);
  seeded.snapshot = await step('snapshot', () => takeSnapshot(client, server.major, { tables: seeded.tables }));
  seeded.rows = new Map(seeded.snapshot.map((t) => [t.label, t.rows]));

  // pg_dump of the server's major, or a template copy when there is none (said so, never skipped silently).
  // A configured pg_dump that cannot dump this server is FAIL (no backup as asked), with the copy standing in.
  seeded.tools = await findDumpTools({
    major: server.major,
    serverVersion: server.version,
    containerId: server.containerId,
    adminUrl: server.adminUrl,
    pgDump: opts.pgDump,
  }).catch((err: unknown) => {
    if (!(err instanceof PgDumpError)) throw err;
    seeded.unusable = err;
    return { ok: false as const, reason: `an unusable pg_dump "${opts.pgDump}"` };
  });
  if (seeded.tools.ok) {
    const area = new DumpArea(seeded.tools.tools);
    seeded.area = area;
    ctx.onCleanup(() => area.dispose());
  }
  ctx.seeded = seeded;
}

async function seed(client: pg.Client, target: TestDatabase, opts: SmokeContext['opts']): Promise<SeedSummary> {
  if (opts.seed !== undefined) {
    const t = performance.now();
    const fn =
      typeof opts.seed === 'function'
        ? opts.seed
        : await loadModuleFunction<(url: string) => Promise<void>>(opts.seed, opts.cwd, 'seed');
    await fn(target.url);
    await client.query('ANALYZE');
    const counts = await introspect(client);
    const tables = [];
    for (const t2 of counts)
      tables.push({
        table: t2.label,
        rows: Number((await client.query(`SELECT count(*) AS n FROM ${t2.qname}`)).rows[0].n),
      });
    return { mode: 'function', durationMs: round(performance.now() - t), tables, warnings: [] };
  }
  return seedByIntrospection(client, { rows: opts.rows, rowsPerTable: opts.rowsPerTable, seedValue: opts.seedValue });
}
