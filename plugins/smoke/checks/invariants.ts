/** Invariants after the apply: indexes valid, sequences ahead of their columns, constraints validated. */
import { check, spread, TITLES } from '../check-kit.ts';
import { dropSideTables } from '../fingerprint.ts';
import { checkInvariants } from '../verify.ts';
import { type SmokeCheck, seededOf } from './context.ts';

export const invariants: SmokeCheck = {
  id: 'invariants',
  title: TITLES.invariants,
  needs: 'seeded',
  async run(ctx) {
    const { client } = seededOf(ctx);
    const found = await checkInvariants(client);
    // The snapshot's side tables are not needed after the data check; the restores compare without them.
    await dropSideTables(client);
    return check('invariants', TITLES.invariants, ...spread(found));
  },
};
