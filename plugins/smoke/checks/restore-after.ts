/** The migrated database must survive a dump and a restore too (objects that break pg_restore are caught). */
import type { DumpArea } from '../backup.ts';
import { TITLES } from '../check-kit.ts';
import { restoreAfterCheck } from '../restore-check.ts';
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
  run(ctx) {
    const seeded = seededOf(ctx);
    return restoreAfterCheck({ dbs: seeded.dbs, server: serverOf(ctx) }, seeded.area as DumpArea, seeded.target);
  },
};
