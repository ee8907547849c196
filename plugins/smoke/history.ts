/**
 * History integrity, no database needed: every base migration must be in head unchanged (by
 * Prisma's checksum rule, so line endings alone do not count), new migrations must sort after
 * base's latest, and migration_lock.toml must not change.
 */
import { renderChecksum, scriptMatchesChecksum } from '../migrate/prisma-history.ts';
import type { MigrationSet } from './sources.ts';
import type { CheckResult, Finding } from './types.ts';
import { checkVerdict } from './verdict.ts';

/** The first 1-based line where two scripts differ (line endings ignored). */
function firstDifference(a: string, b: string): number {
  const la = a.replace(/\r\n/g, '\n').split('\n');
  const lb = b.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) return i + 1;
  return 0;
}

/** Compares the two sides; returns the `history` check and the names of head's new migrations. */
export function checkHistory(base: MigrationSet, head: MigrationSet): { check: CheckResult; newMigrations: string[] } {
  const t0 = performance.now();
  const findings: Finding[] = [];
  const headByName = new Map(head.migrations.map((m) => [m.name, m]));
  const baseNames = new Set(base.migrations.map((m) => m.name));

  for (const b of base.migrations) {
    const h = headByName.get(b.name);
    if (!h) {
      findings.push({
        code: 'history/missing',
        verdict: 'FAIL',
        migration: b.name,
        target: b.name,
        message: `Migration "${b.name}" is in base but not in head: databases that applied it keep its changes, and Prisma reports the history as diverged.`,
      });
      continue;
    }
    if (b.sql === undefined || h.sql === undefined) {
      if (b.sql !== h.sql) {
        findings.push({
          code: 'history/unreadable',
          verdict: 'FAIL',
          migration: b.name,
          target: b.name,
          message: `Migration "${b.name}" has no readable migration.sql on the ${h.sql === undefined ? 'head' : 'base'} side.`,
        });
      }
      continue;
    }
    const baseChecksum = renderChecksum(b.sql);
    if (h.sql === b.sql) continue;
    if (scriptMatchesChecksum(h.sql, baseChecksum)) {
      findings.push({
        code: 'history/line-endings',
        verdict: 'SAFE',
        migration: b.name,
        target: b.name,
        message: `Migration "${b.name}" differs from base in line endings only, which Prisma's checksum accepts.`,
      });
      continue;
    }
    findings.push({
      code: 'history/edited',
      verdict: 'FAIL',
      migration: b.name,
      target: b.name,
      message: `Migration "${b.name}" was edited after base applied it (first difference at line ${firstDifference(b.sql, h.sql)}): \`migrate deploy\` never re-runs it, so production keeps the old version while fresh databases get the new one.`,
      evidence: {
        baseChecksum,
        headChecksum: renderChecksum(h.sql),
        firstDifferentLine: firstDifference(b.sql, h.sql),
      },
    });
  }

  const newMigrations = head.migrations.filter((m) => !baseNames.has(m.name)).map((m) => m.name);
  const baseLatest = base.migrations.at(-1)?.name;
  for (const name of newMigrations) {
    if (baseLatest !== undefined && name.localeCompare(baseLatest) < 0) {
      findings.push({
        code: 'history/non-linear',
        verdict: 'WARN',
        migration: name,
        target: name,
        message: `New migration "${name}" sorts before base's latest "${baseLatest}": production applies it after, fresh databases before (non-linear history; rename it with a later timestamp).`,
        evidence: { baseLatest },
      });
    }
  }

  const norm = (s: string | undefined) => s?.replace(/\r\n/g, '\n').trim();
  const [bl, hl] = [norm(base.lockfile), norm(head.lockfile)];
  if (bl !== undefined && hl === undefined) {
    findings.push({
      code: 'history/lockfile-removed',
      verdict: 'WARN',
      target: 'migration_lock.toml',
      message: 'migration_lock.toml is in base but not in head; Prisma can no longer check the provider.',
    });
  } else if (bl !== undefined && hl !== undefined && bl !== hl) {
    findings.push({
      code: 'history/lockfile-changed',
      verdict: 'FAIL',
      target: 'migration_lock.toml',
      message: 'migration_lock.toml changed between base and head (a provider switch invalidates the whole history).',
      evidence: { base: base.lockfile, head: head.lockfile },
    });
  }

  const check: CheckResult = {
    id: 'history',
    title: 'History integrity',
    verdict: checkVerdict(findings),
    durationMs: performance.now() - t0,
    findings,
    evidence: {
      baseMigrations: base.migrations.length,
      headMigrations: head.migrations.length,
      newMigrations,
    },
  };
  return { check, newMigrations };
}
