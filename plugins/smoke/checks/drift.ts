/**
 * Drift: the migrated database against schema.prisma (`prisma migrate diff`). What Prisma does
 * not model (functions, triggers, views, policies) is listed as INFO, since drift cannot see it.
 */
import { check, skipped, TITLES } from '../check-kit.ts';
import { detectDrift } from '../drift.ts';
import { describeUnmodeled, unmodeledObjects } from '../sql-objects.ts';
import type { Finding } from '../types.ts';
import { type SmokeCheck, seededOf, unlessApplied } from './context.ts';

export const drift: SmokeCheck = {
  id: 'drift',
  title: TITLES.drift,
  needs: 'seeded',
  // `prisma migrate diff` is a process of its own: it runs on the other core while the restores do.
  concurrent: true,
  skip: (ctx) => ('reason' in ctx.schema ? ctx.schema.reason : unlessApplied(ctx)),
  async run(ctx) {
    const { opts } = ctx;
    const schemaPath = (ctx.schema as { path: string }).path;
    const seeded = seededOf(ctx);
    const [found, objects] = await Promise.all([
      detectDrift(seeded.target.url, schemaPath, { cwd: opts.cwd, cli: opts.prismaCli }),
      unmodeledObjects(seeded.client),
    ]);
    if (!found.ok) return skipped('drift', TITLES.drift, found.reason);
    const findings: Finding[] = found.differs
      ? [
          {
            code: 'drift/schema-differs',
            verdict: 'FAIL',
            target: schemaPath,
            message: `The migrated database does not match ${schemaPath}: the migrations and the schema disagree (the Prisma client would query what is not there).`,
            evidence: { script: found.script },
          },
        ]
      : [];
    if (objects.length) {
      findings.push({
        code: 'objects/unmodeled',
        verdict: 'INFO',
        message: `Objects Prisma does not model, so drift cannot see them: ${describeUnmodeled(objects)}. Review them by hand; they live only in the migrations.`,
        evidence: { objects: objects.length },
      });
    }
    return check('drift', TITLES.drift, findings, { via: found.via, schema: schemaPath });
  },
};
