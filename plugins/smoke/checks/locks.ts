/** Locks and rewrites: each file's locks judged by what they block, for how long, at production size. */
import { check, spread, TITLES } from '../check-kit.ts';
import { checkLocks } from '../lock-check.ts';
import { applyOf, type SmokeCheck, sqlOf } from './context.ts';

export const locks: SmokeCheck = {
  id: 'locks',
  title: TITLES.locks,
  needs: 'seeded',
  run(ctx) {
    const { opts } = ctx;
    const found = checkLocks(applyOf(ctx).files, opts.lockBudgetMs, opts.production, (name) => sqlOf(ctx, name));
    return check('locks', TITLES.locks, ...spread(found));
  },
};
