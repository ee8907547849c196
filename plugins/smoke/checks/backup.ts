/**
 * Backup of the seeded base: `pg_dump -Fc` with a pg_dump of the server's major, or a template
 * copy when there is none (WARN, said so) or the configured one cannot dump this server (FAIL).
 */

import { takeBackup } from '../backup.ts';
import { connect, TITLES } from '../check-kit.ts';
import { type SmokeCheck, seededOf, serverOf } from './context.ts';

export const backup: SmokeCheck = {
  id: 'backup',
  title: TITLES.backup,
  needs: 'seeded',
  async run(ctx) {
    const seeded = seededOf(ctx);
    const taken = await takeBackup({
      area: seeded.area,
      tools: seeded.tools,
      server: serverOf(ctx),
      dbs: seeded.dbs,
      target: seeded.target,
      closeClient: () => seeded.client.end(),
      unusable: seeded.unusable,
    });
    ctx.backup = {
      ...(taken.dump ? { dump: taken.dump } : {}),
      ...(taken.templateCopy ? { templateCopy: taken.templateCopy } : {}),
    };
    // A template copy needs the source free of sessions: the client was closed for it.
    if (taken.templateCopy) seeded.client = await connect(seeded.target.url);
    return taken.check;
  },
};
