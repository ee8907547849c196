/**
 * Restore like production (issue 15 §6): the restores go into a separate target (a second fresh
 * server, or a server set up like production by URL) with production's roles and extensions
 * declared, and migrations that depend on a cluster-level role or extension the target lacks
 * are reported. Each failing case has a twin where the target has what the migration needs.
 */
import pg from 'pg';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { type StartedPostgres, startPostgres } from '../../plugins/postgres/index.ts';
import type { SessionRuntime } from '../../plugins/session.ts';
import { checkOf, dumpToolsFor, findings, headWith, leftovers, problems, smokeOn } from './helpers.ts';

const PREFIX = 'sgsmdp';
const ROLE = 'sg_dp_reporting';

async function rolesNamed(adminUrl: string, like: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('SELECT rolname AS n FROM pg_roles WHERE rolname LIKE $1', [like]);
    return rows.map((r) => r.n);
  } finally {
    await c.end();
  }
}

/** The smoke's dump tools can restore into another server only when they run on this machine. */
const crossServer = (shipgate: SessionRuntime) => !shipgate.containerId && dumpToolsFor(shipgate);

describe('dependencies on cluster roles and extensions', () => {
  // A server set up like production, by URL: it has no sg_dp_* role.
  let production: StartedPostgres;
  beforeAll(async () => {
    production = await startPostgres({});
  }, 120_000);
  afterAll(async () => {
    await production?.stop();
  });

  test('a GRANT to a declared role applies, the role is created on the smoke server and dropped after (safe twin)', async ({
    shipgate,
  }) => {
    const result = await smokeOn(shipgate, PREFIX, headWith('dp-grant-role'), { restoreRoles: [ROLE] });
    expect(checkOf(result, 'apply').verdict).toBe('SAFE');
    const deps = checkOf(result, 'dependencies');
    expect(deps.evidence.roles).toEqual([ROLE]);
    expect(problems(result).filter((p) => p.includes('dependencies/'))).toEqual([]);
    expect(await rolesNamed(shipgate.adminUrl, 'sg\\_dp\\_%')).toEqual([]);
    expect(await leftovers(shipgate.adminUrl, PREFIX)).toEqual([]);
  });

  test('a GRANT to a role production lacks: the apply fails and says how to declare it', async ({ shipgate }) => {
    const result = await smokeOn(shipgate, PREFIX, headWith('dp-grant-role'));
    const [failed] = findings(result, 'apply/failed');
    expect(failed?.verdict).toBe('FAIL');
    expect(failed?.message).toContain(`role "${ROLE}" does not exist`);
    expect(failed?.message).toContain('--restore-roles');
  });

  test('restored into a server that lacks the role: dependencies and restore-after FAIL, naming the migration', async ({
    shipgate,
  }) => {
    const result = await smokeOn(shipgate, PREFIX, headWith('dp-grant-role'), {
      restoreRoles: [ROLE],
      restoreTarget: production.adminUrl,
    });
    const [missing] = findings(result, 'dependencies/role-missing');
    expect(missing?.verdict).toBe('FAIL');
    expect(missing?.target).toBe(ROLE);
    expect(missing?.migration).toBe('20250201000000_reporting_grant');
    expect(missing?.message).toContain('SELECT on public.orders');
    expect(result.verdict).toBe('FAIL');
    if (crossServer(shipgate)) {
      // The base has no grant: it restores there. The migrated database stops at the GRANT.
      expect(checkOf(result, 'restore').verdict).toBe('SAFE');
      expect(checkOf(result, 'restore').evidence.into).toContain('Postgres');
      const [after] = findings(result, 'restore-after/restore-failed');
      expect(after?.message).toContain(`the target lacks role "${ROLE}"`);
    } else {
      expect(findings(result, 'restore/target-not-used')[0]?.verdict).toBe('WARN');
    }
    // Nothing of the smoke's is left on the target, and no role was created there.
    expect(await leftovers(production.adminUrl, PREFIX)).toEqual([]);
    expect(await rolesNamed(production.adminUrl, 'sg\\_dp\\_%')).toEqual([]);
  });

  test('restored into a second fresh server that has the declared role: SAFE (twin)', async ({ shipgate }) => {
    const result = await smokeOn(shipgate, PREFIX, headWith('dp-grant-role'), {
      restoreRoles: [ROLE],
      restoreTarget: 'server',
    });
    expect(problems(result).filter((p) => /dependencies|restore/.test(p))).toEqual(
      crossServer(shipgate) ? [] : ['WARN restore-after/target-not-used', 'WARN restore/target-not-used'],
    );
    if (crossServer(shipgate)) {
      expect(checkOf(result, 'restore-after').verdict).toBe('SAFE');
      expect(checkOf(result, 'restore-after').evidence.into).toMatch(/second fresh .* server/);
    }
    expect(result.steps.map((s) => s.step)).toContain('restore-target');
  });

  test('an extension production cannot install is FAIL; declared, it is SAFE', async ({ shipgate }) => {
    const missing = await smokeOn(shipgate, PREFIX, headWith('dp-extension'), { restoreExtensions: ['pg_trgm'] });
    const [f] = findings(missing, 'dependencies/extension-missing');
    expect(f?.verdict).toBe('FAIL');
    expect(f?.target).toBe('citext');
    expect(f?.migration).toBe('20250201000000_citext_handle');
    const declared = await smokeOn(shipgate, PREFIX, headWith('dp-extension'), { restoreExtensions: ['citext'] });
    expect(findings(declared, 'dependencies/extension-missing')).toEqual([]);
    expect(checkOf(declared, 'dependencies').evidence.extensions).toEqual(['citext']);
    expect(checkOf(declared, 'dependencies').verdict).toBe('SAFE');
  });

  test('nothing declared: the dependencies are listed as INFO; none, nothing is said (twin)', async ({ shipgate }) => {
    const listed = await smokeOn(shipgate, PREFIX, headWith('dp-extension'));
    const [info] = findings(listed, 'dependencies/undeclared');
    expect(info?.verdict).toBe('INFO');
    expect(info?.message).toContain('extension "citext"');
    expect(checkOf(listed, 'dependencies').verdict).toBe('SAFE');
    const none = await smokeOn(shipgate, PREFIX, headWith('dp-no-deps'));
    expect(checkOf(none, 'dependencies').findings).toEqual([]);
  });

  test('a migration that creates a role is WARN: no dump carries it', async ({ shipgate }) => {
    onTestFinished(async () => {
      // The migration's own role: shipgate never drops what it did not create, so the spec does.
      const c = new pg.Client({ connectionString: shipgate.adminUrl });
      await c.connect();
      await c.query('DROP ROLE IF EXISTS "sg_dp_auditor"').finally(() => c.end());
    });
    const result = await smokeOn(shipgate, PREFIX, headWith('dp-role-created'), { restoreRoles: [] });
    const [created] = findings(result, 'dependencies/role-created');
    expect(created?.verdict).toBe('WARN');
    expect(created?.target).toBe('sg_dp_auditor');
    // Declared roles are none: the role the migration created is one production lacks.
    expect(findings(result, 'dependencies/role-missing')[0]?.target).toBe('sg_dp_auditor');
  });
});
