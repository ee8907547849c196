/**
 * `migrationSmoke(options)`: proves a PR's Prisma migrations on a seeded throwaway database.
 * History → lint → apply base → seed → snapshot → backup → apply head (watched) → verify
 * (recorded, data, invariants, drift) → restore rehearsals → verdict. Every database it
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
import { applyHead, failureOf, migratorFor } from './apply.ts';
import { DumpArea, type DumpFile, takeBackup } from './backup.ts';
import { applyCheck, check, connect, round, skipped, spread, TITLES } from './checks.ts';
import { checkData } from './data-check.ts';
import { detectDrift } from './drift.ts';
import { dropSideTables, takeSnapshot } from './fingerprint.ts';
import { checkHistory } from './history.ts';
import { introspect } from './introspect.ts';
import { checkLocks } from './lock-check.ts';
import { reconcileLockTimeout } from './lock-timeout.ts';
import { resolveSmokeOptions, type SmokeOptions, withSessionSettings } from './options.ts';
import { findDumpTools, PgDumpError, type ToolChoice } from './pg-tools.ts';
import { restoreAfterCheck, restoreCheck } from './restore-check.ts';
import { resolveSchema } from './schema-path.ts';
import { seedByIntrospection } from './seed.ts';
import { readBase, readHead } from './sources.ts';
import { describeUnmodeled, unmodeledObjects } from './sql-objects.ts';
import { lintMigrations, reconcileLint } from './squawk.ts';
import type { CheckId, CheckResult, Finding, SeedSummary, SmokeResult } from './types.ts';
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
    const { check: history, newMigrations } = await step('history', () => checkHistory(base, head));
    const newFiles = head.migrations.filter((m) => newMigrations.includes(m.name));

    const server = await step('server', async () => {
      if (opts.adminUrl) {
        const info = await readServerInfo(opts.adminUrl);
        return {
          adminUrl: opts.adminUrl,
          containerId: opts.containerId,
          provider: opts.containerId ? 'testcontainers' : 'external',
          ...info,
        };
      }
      const started = await startPostgres({ log: opts.log });
      cleanups.push(() => started.stop());
      return {
        adminUrl: started.adminUrl,
        containerId: started.containerId,
        provider: started.provider,
        major: started.major,
        version: started.version,
      };
    });
    const lint = await step('lint', () =>
      opts.squawk === false
        ? skipped('lint', 'Static lint (squawk)', 'squawk: false in the options')
        : lintMigrations(newFiles, { ...opts.squawk, pgMajor: server.major }),
    );

    const dbs = new Databases(server.adminUrl, { prefix: opts.prefix, major: server.major });
    const unreap = registerReapable({
      kind: 'databases',
      adminUrl: server.adminUrl,
      prefix: dbs.prefix,
      runId: dbs.runId,
    });
    cleanups.push(async () => {
      await dbs.dropRun().catch(() => undefined);
      await dbs.close();
      unreap();
    });
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
      newMigrations,
      migrator: opts.migrator,
      server: {
        provider: server.provider,
        version: server.version,
        major: server.major,
        ...(server.containerId ? { containerId: server.containerId } : {}),
      },
      settings: opts.settings,
      files: [],
      checks: [history, lint],
      steps,
      durationMs: 0,
      startedAt,
    };
    const rest = await runOnDatabase(result, { opts, dbs, server, base, head, newFiles, schema, step });
    result.checks.push(...rest);
    reconcileLint(
      lint,
      rest.filter((c) => c.id === 'apply' || c.id === 'locks' || c.id === 'data'),
      new Set(result.files.map((f) => f.migration)),
    );
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

interface Ctx {
  opts: ReturnType<typeof resolveSmokeOptions>;
  dbs: Databases;
  server: { adminUrl: string; containerId: string | undefined; major: number; version: string };
  base: ReturnType<typeof readBase>;
  head: ReturnType<typeof readHead>;
  newFiles: { name: string; sql: string | undefined }[];
  schema: { path: string } | { reason: string };
  step: <T>(name: string, fn: () => Promise<T> | T) => Promise<T>;
}

/** Everything that needs the database; returns the checks from `apply` on. */
async function runOnDatabase(result: SmokeResult, ctx: Ctx): Promise<CheckResult[]> {
  const { opts, dbs, server, step } = ctx;
  const checks: CheckResult[] = [];
  const skipAll = (reason: string, from: CheckId[]) => {
    const titles: Record<string, string> = TITLES;
    for (const id of from) checks.push(skipped(id, titles[id] as string, reason));
  };
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
    checks.push(
      check(
        'apply',
        TITLES.apply,
        [
          {
            code: 'apply/base-failed',
            verdict: 'FAIL',
            ...(baseFailure.migration ? { migration: baseFailure.migration, target: baseFailure.migration } : {}),
            message: `The base migrations do not apply${baseFailure.migration ? ` ("${baseFailure.migration}")` : ''}: ${baseFailure.sqlstate ? `SQLSTATE ${baseFailure.sqlstate}, ` : ''}${baseFailure.message}.`,
            evidence: { side: 'base', ...baseFailure },
          },
        ],
        {},
      ),
    );
    skipAll('the base migrations did not apply', [
      'locks',
      'recorded',
      'data',
      'invariants',
      'drift',
      'backup',
      'restore',
      'restore-after',
    ]);
    return checks;
  }

  let client = await connect(target.url);
  try {
    result.seed = await step('seed', () => seed(client, target, opts));
    const tables = await introspect(client);
    const snapshot = await step('snapshot', () => takeSnapshot(client, server.major, { tables }));
    const rows = new Map(snapshot.map((t) => [t.label, t.rows]));

    // Backup: pg_dump of the server's major, or a template copy when there is none (said so, never skipped silently).
    // A configured pg_dump that cannot dump this server is FAIL (no backup as asked), with the copy standing in.
    let unusable: PgDumpError | undefined;
    const tools: ToolChoice = await findDumpTools({
      major: server.major,
      serverVersion: server.version,
      containerId: server.containerId,
      adminUrl: server.adminUrl,
      pgDump: opts.pgDump,
    }).catch((err: unknown) => {
      if (!(err instanceof PgDumpError)) throw err;
      unusable = err;
      return { ok: false, reason: `an unusable pg_dump "${opts.pgDump}"` };
    });
    const area = tools.ok ? new DumpArea(tools.tools) : undefined;
    let preDump: DumpFile | undefined;
    let templateCopy: TestDatabase | undefined;
    try {
      const backup = await step('backup', () =>
        takeBackup({ area, tools, server, dbs, target, closeClient: () => client.end(), unusable }),
      );
      preDump = backup.dump;
      templateCopy = backup.templateCopy;
      if (templateCopy) client = await connect(target.url);
      checks.push(backup.check);

      // Head, under the production-like settings, watched file by file.
      const apply = await step('apply-head', () =>
        applyHead({
          kind: opts.migrator,
          dir: ctx.head.dir,
          cwd: opts.cwd,
          cli: opts.prismaCli,
          url: withSessionSettings(target.url, opts.settings),
          plainUrl: target.url,
          tables,
          rows,
          probes: opts.probes,
          sampleIntervalMs: opts.sampleIntervalMs,
          newMigrations: ctx.newFiles,
          log: opts.log,
        }),
      );
      result.files = apply.files;
      checks.push(applyCheck(apply.failure, apply.warnings, apply.files, opts.settings));
      checks.push(
        check(
          'locks',
          TITLES.locks,
          ...spread(
            checkLocks(
              apply.files,
              opts.lockBudgetMs,
              opts.production,
              (name) =>
                ctx.newFiles.find((m) => m.name === name)?.sql ??
                (name.startsWith('(all files') ? ctx.newFiles.map((m) => m.sql ?? '').join(';\n') : undefined),
            ),
          ),
        ),
      );

      const verified = await step('verify', async () => {
        const { checkRecorded, checkInvariants } = await import('./verify.ts');
        const recorded = await checkRecorded(
          client,
          ctx.head.migrations.map((m) => m.name),
        );
        const data = await checkData(client, snapshot, server.major, ctx.newFiles);
        const invariants = await checkInvariants(client);
        const objects = await unmodeledObjects(client);
        await dropSideTables(client);
        return { recorded, data, invariants, objects };
      });
      checks.push(check('recorded', TITLES.recorded, ...spread(verified.recorded)));
      const dataCheck = check('data', TITLES.data, ...spread(verified.data));
      checks.push(dataCheck, check('invariants', TITLES.invariants, ...spread(verified.invariants)));
      if (apply.failure) reconcileLockTimeout(checks, apply.failure, opts.settings.lockTimeout);

      if ('reason' in ctx.schema) checks.push(skipped('drift', TITLES.drift, ctx.schema.reason));
      else if (apply.failure)
        checks.push(skipped('drift', TITLES.drift, 'the head migrations did not apply completely'));
      else {
        const schemaPath = ctx.schema.path;
        const t = performance.now();
        const drift = await step('drift', () =>
          detectDrift(target.url, schemaPath, { cwd: opts.cwd, cli: opts.prismaCli }),
        );
        if (!drift.ok) checks.push(skipped('drift', TITLES.drift, drift.reason));
        else {
          const findings: Finding[] = drift.differs
            ? [
                {
                  code: 'drift/schema-differs',
                  verdict: 'FAIL',
                  target: schemaPath,
                  message: `The migrated database does not match ${schemaPath}: the migrations and the schema disagree (the Prisma client would query what is not there).`,
                  evidence: { script: drift.script },
                },
              ]
            : [];
          // Drift is computed from what Prisma models; what it cannot model is listed, not judged.
          if (verified.objects.length) {
            findings.push({
              code: 'objects/unmodeled',
              verdict: 'INFO',
              message: `Objects Prisma does not model, so drift cannot see them: ${describeUnmodeled(verified.objects)}. Review them by hand; they live only in the migrations.`,
              evidence: { objects: verified.objects.length },
            });
          }
          checks.push(
            check('drift', TITLES.drift, findings, { via: drift.via, schema: schemaPath }, performance.now() - t),
          );
        }
      }

      // Restore rehearsal of the pre-migration backup: the RTO evidence.
      checks.push(await step('restore', () => restoreCheck(ctx, area, preDump, templateCopy, snapshot, dataCheck)));
      // The migrated database must survive a dump and restore too.
      if (!area)
        checks.push(
          skipped(
            'restore-after',
            TITLES['restore-after'],
            `no pg_dump ${server.major} at hand (${tools.ok ? '' : tools.reason})`,
          ),
        );
      else if (apply.failure)
        checks.push(skipped('restore-after', TITLES['restore-after'], 'the head migrations did not apply completely'));
      else checks.push(await step('restore-after', () => restoreAfterCheck(ctx, area, target)));
    } finally {
      await area?.dispose();
    }
  } finally {
    await client.end().catch(() => {});
  }
  return checks;
}

async function seed(client: pg.Client, target: TestDatabase, opts: Ctx['opts']): Promise<SeedSummary> {
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
