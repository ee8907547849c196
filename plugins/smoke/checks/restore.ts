/** Restore rehearsal of the pre-migration backup into a fresh database, compared with the snapshot: the RTO evidence. */
import { TITLES } from '../check-kit.ts';
import { restoreCheck } from '../restore-check.ts';
import { type SmokeCheck, seededOf, serverOf } from './context.ts';

export const restore: SmokeCheck = {
  id: 'restore',
  title: TITLES.restore,
  needs: 'seeded',
  async run(ctx) {
    const seeded = seededOf(ctx);
    const data = ctx.checks.find((c) => c.id === 'data');
    const done = await restoreCheck(
      { dbs: seeded.dbs, server: serverOf(ctx) },
      seeded.area,
      ctx.backup?.dump,
      ctx.backup?.templateCopy,
      seeded.snapshot,
      data?.findings ?? [],
    );
    if (done.restored) ctx.baseCopy = done.restored;
    return done.check;
  },
};
