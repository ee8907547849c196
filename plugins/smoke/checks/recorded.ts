/** Migrations recorded: `_prisma_migrations` holds every head migration, finished. */
import { check, spread, TITLES } from '../check-kit.ts';
import { checkRecorded } from '../verify.ts';
import { type SmokeCheck, seededOf } from './context.ts';

export const recorded: SmokeCheck = {
  id: 'recorded',
  title: TITLES.recorded,
  needs: 'seeded',
  async run(ctx) {
    const found = await checkRecorded(
      seededOf(ctx).client,
      ctx.head.migrations.map((m) => m.name),
    );
    return check('recorded', TITLES.recorded, ...spread(found));
  },
};
