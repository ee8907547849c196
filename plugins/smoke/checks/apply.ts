/**
 * The head apply, under the production-like session settings, watched file by file (locks,
 * waits, WAL, probes). A base that does not apply is reported here too, and stops the checks
 * that need a seeded base.
 */
import { applyHead } from '../apply.ts';
import { applyCheck, check, TITLES } from '../check-kit.ts';
import { withSessionSettings } from '../options.ts';
import { type SmokeCheck, seededOf } from './context.ts';

export const apply: SmokeCheck = {
  id: 'apply',
  title: TITLES.apply,
  needs: 'database',
  async run(ctx) {
    const { opts } = ctx;
    const baseFailure = ctx.baseFailure;
    if (baseFailure) {
      return check(
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
      );
    }
    const seeded = seededOf(ctx);
    const applied = await applyHead({
      kind: opts.migrator,
      dir: ctx.head.dir,
      cwd: opts.cwd,
      cli: opts.prismaCli,
      url: withSessionSettings(seeded.target.url, opts.settings),
      plainUrl: seeded.target.url,
      tables: seeded.tables,
      rows: seeded.rows,
      probes: opts.probes,
      sampleIntervalMs: opts.sampleIntervalMs,
      newMigrations: ctx.newFiles,
      log: opts.log,
    });
    ctx.apply = applied;
    ctx.result.files = applied.files;
    return applyCheck(applied.failure, applied.warnings, applied.files, opts.settings);
  },
};
