/** History: applied migrations edited or removed, `migration_lock.toml` changed; finds the new migrations. */
import { checkHistory } from '../history.ts';
import type { SmokeCheck } from './context.ts';

export const history: SmokeCheck = {
  id: 'history',
  title: 'History integrity',
  needs: 'none',
  async run(ctx) {
    const { check, newMigrations } = await checkHistory(ctx.base, ctx.head);
    ctx.newMigrations = newMigrations;
    ctx.newFiles = ctx.head.migrations.filter((m) => newMigrations.includes(m.name));
    return check;
  },
};
