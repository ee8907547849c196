/**
 * Roles and extensions: what the migrated database needs from its cluster, against what the
 * restore target has (declared `--restore-roles` / `--restore-extensions`, or a target server's
 * catalog). A dependency the new migrations add and the target lacks is FAIL: the deploy stops
 * there, and so does a restore. One the base already had is WARN. Nothing declared and no
 * target server: the dependencies are listed as INFO.
 */
import { check, connect, TITLES } from '../check-kit.ts';
import { type Dependency, listDependencies, rolesCreatedIn, sqlNames } from '../dependencies.ts';
import { restoreTarget } from '../restore-target.ts';
import type { Finding } from '../types.ts';
import { type SmokeCheck, type SmokeContext, seededOf, unlessApplied } from './context.ts';

async function baseDependencies(ctx: SmokeContext): Promise<Dependency[] | undefined> {
  if (!ctx.baseCopy) return undefined;
  const c = await connect(ctx.baseCopy.url);
  try {
    return await listDependencies(c);
  } finally {
    await c.end().catch(() => {});
  }
}

const describeDep = (d: Dependency) => `${d.kind} "${d.name}" (${d.uses.join('; ')})`;

export const dependencies: SmokeCheck = {
  id: 'dependencies',
  title: TITLES.dependencies,
  needs: 'seeded',
  skip: unlessApplied,
  // The base copy the restore leaves is what the new dependencies are compared with.
  waitsFor: ['restore'],
  async run(ctx) {
    const { opts } = ctx;
    const after = await listDependencies(seededOf(ctx).client);
    const before = await baseDependencies(ctx);
    const target = await restoreTarget(ctx);
    const declared = { roles: opts.restoreRoles, extensions: opts.restoreExtensions };
    const has = (d: Dependency): boolean | undefined => {
      const list = d.kind === 'role' ? declared.roles : declared.extensions;
      const offered = d.kind === 'role' ? target.offers?.roles : target.offers?.extensions;
      if (offered && !offered.has(d.name)) return false;
      if (list) return list.includes(d.name);
      return offered ? true : undefined;
    };
    const findings: Finding[] = [];
    const unknown: Dependency[] = [];
    const where = target.kind === 'same' ? 'production (as declared)' : target.label;
    for (const d of after) {
      const have = has(d);
      if (have === undefined) unknown.push(d);
      if (have !== false) continue;
      const isNew = before ? !before.some((b) => b.kind === d.kind && b.name === d.name) : true;
      const migration = ctx.newFiles.find((m) => m.sql && sqlNames(m.sql, d.name))?.name;
      const flag = d.kind === 'role' ? '--restore-roles' : '--restore-extensions';
      const fix =
        d.kind === 'role'
          ? `create the role on production first, or add it to ${flag} if production has it`
          : `install the extension on production first, or add it to ${flag} if production has it`;
      findings.push({
        code: isNew ? `dependencies/${d.kind}-missing` : 'dependencies/base-needs-missing',
        verdict: isNew ? 'FAIL' : 'WARN',
        target: d.name,
        ...(isNew && migration ? { migration } : {}),
        message: isNew
          ? `${migration ? `Migration "${migration}"` : 'The new migrations'} make the database depend on ${describeDep(d)}, which ${where} lacks: the deploy fails there, and so does a restore of the dump (${fix}).`
          : `The base already depends on ${describeDep(d)}, which ${where} lacks (${fix}).`,
        evidence: { kind: d.kind, name: d.name, uses: d.uses, new: isNew, target: target.label },
      });
    }
    for (const m of ctx.newFiles) {
      for (const role of rolesCreatedIn(m.sql ?? '')) {
        findings.push({
          code: 'dependencies/role-created',
          verdict: 'WARN',
          target: role,
          migration: m.name,
          message: `Migration "${m.name}" creates role "${role}": roles are cluster-level, so no dump of this database carries it (a restore elsewhere needs \`pg_dumpall --globals-only\` or the role created first), and it outlives the database on every server it runs on.`,
        });
      }
    }
    if (unknown.length && declared.roles === undefined && declared.extensions === undefined) {
      findings.push({
        code: 'dependencies/undeclared',
        verdict: 'INFO',
        message: `The migrated database depends on ${unknown.map(describeDep).join(', ')}; declare production's roles and extensions (--restore-roles, --restore-extensions) or give a --restore-target to check them.`,
        evidence: { dependencies: unknown.map((d) => `${d.kind}:${d.name}`) },
      });
    }
    return check('dependencies', TITLES.dependencies, findings, {
      roles: after.filter((d) => d.kind === 'role').map((d) => d.name),
      extensions: after.filter((d) => d.kind === 'extension').map((d) => d.name),
      target: target.label,
      declared,
      comparedWithBase: before !== undefined,
    });
  },
};
