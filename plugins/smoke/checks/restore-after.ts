/** The migrated database must survive a dump and a restore too (objects that break pg_restore are caught). */
import type { DumpArea } from '../backup.ts';
import { TITLES } from '../check-kit.ts';
import { restoreAfterCheck } from '../restore-check.ts';
import { reachableTarget } from '../restore-target.ts';
import { type SmokeCheck, seededOf, serverOf, unlessApplied } from './context.ts';

export const restoreAfter: SmokeCheck = {
  id: 'restore-after',
  title: TITLES['restore-after'],
  needs: 'seeded',
  skip(ctx) {
    const seeded = seededOf(ctx);
    if (!seeded.area) {
      const why = seeded.tools.ok ? '' : seeded.tools.reason;
      return `no pg_dump ${serverOf(ctx).major} at hand (${why})`;
    }
    return unlessApplied(ctx);
  },
  async run(ctx) {
    const seeded = seededOf(ctx);
    const { target, fallback } = await reachableTarget(ctx, seeded.area);
    return restoreAfterCheck({ ...target, fallback }, serverOf(ctx), seeded.area as DumpArea, seeded.target);
  },
};
