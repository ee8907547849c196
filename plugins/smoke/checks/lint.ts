/** Static lint of the new migrations with squawk, for the server's major. */
import { skipped } from '../check-kit.ts';
import { lintMigrations } from '../squawk.ts';
import { type SmokeCheck, serverOf } from './context.ts';

export const lint: SmokeCheck = {
  id: 'lint',
  title: 'Static lint (squawk)',
  needs: 'server',
  run(ctx) {
    const { squawk } = ctx.opts;
    if (squawk === false) return skipped('lint', lint.title, 'squawk: false in the options');
    return lintMigrations(ctx.newFiles, { ...squawk, pgMajor: serverOf(ctx).major });
  },
};
