/** Restore rehearsal of the pre-migration backup into a fresh database, compared with the snapshot: the RTO evidence. */
import { TITLES } from '../check-kit.ts';
import { restoreCheck } from '../restore-check.ts';
import { reachableTarget } from '../restore-target.ts';
import { type SmokeCheck, seededOf } from './context.ts';

export const restore: SmokeCheck = {
  id: 'restore',
  title: TITLES.restore,
  needs: 'seeded',
  // It restores the pre-migration dump into a database of its own: nothing else reads or writes there.
  concurrent: true,
  async run(ctx) {
    const seeded = seededOf(ctx);
    const data = ctx.checks.find((c) => c.id === 'data');
    const { target, fallback } = await reachableTarget(ctx, seeded.area);
    const done = await restoreCheck(
      { ...target, fallback },
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
