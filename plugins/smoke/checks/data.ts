/** Data lost or changed: the migrated tables against the snapshot of the seeded base. */
import { check, spread, TITLES } from '../check-kit.ts';
import { checkData } from '../data-check.ts';
import { type SmokeCheck, seededOf, serverOf } from './context.ts';

export const data: SmokeCheck = {
  id: 'data',
  title: TITLES.data,
  needs: 'seeded',
  async run(ctx) {
    const seeded = seededOf(ctx);
    const found = await checkData(seeded.client, seeded.snapshot, serverOf(ctx).major, ctx.newFiles);
    return check('data', TITLES.data, ...spread(found));
  },
};
