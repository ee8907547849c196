/**
 * The verdict scale (issue 15 §1): drift, an edited or removed applied migration, a changed
 * migration_lock.toml and a backup that cannot be made are FAIL, not UNSAFE; NOT VALID
 * constraints are information; `--severity` (and SHIPGATE_SMOKE_SEVERITY) remaps a code before
 * --allow and --fail-on, and a bad value is a usage error. Each case has a safe twin.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { describe, expect, test } from '../../fixtures/vitest.ts';
import { ConfigError } from '../../plugins/core/errors.ts';
import { countRecords, mergeReports, parsePolicy } from '../../plugins/report/index.ts';
import { renderMarkdown } from '../../plugins/report/sinks/markdown.ts';
import { migrationSmoke, type SmokeResult } from '../../plugins/smoke/index.ts';
import { checkOf, dumpToolsFor, findings, headWith, leftovers, problems, SHOP, smokeOn } from './helpers.ts';

const PREFIX = 'sgsme';
const root = path.resolve(import.meta.dirname, '..', '..');
const SCHEMA = path.join(import.meta.dirname, 'fixtures', 'shop', 'schema.prisma');
let adminUrl = '';

function cli(args: string[], env: Record<string, string> = {}) {
  const report = mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-report-'));
  onTestFinished(() => rmSync(report, { recursive: true, force: true }));
  const run = spawnSync(process.execPath, ['plugins/cli/shipgate.ts', 'migrate', 'smoke', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      SHIPGATE_REPORT_DIR: report,
      SHIPGATE_SMOKE_FAIL_ON: '',
      SHIPGATE_SMOKE_SEVERITY: '',
      DEBUG: '',
      ...env,
    },
    timeout: 60_000,
  });
  return { ...run, report };
}

describe('migration smoke: the verdict scale', { timeout: 90_000 }, () => {
  afterAll(async () => {
    if (adminUrl) expect(await leftovers(adminUrl, PREFIX)).toEqual([]);
  });

  test('drift between schema.prisma and the migrations: FAIL, exit 2 (twin: matching schema, SAFE)', async ({
    shipgate,
    skip,
  }) => {
    adminUrl = shipgate.adminUrl;
    const matching = await smokeOn(shipgate, PREFIX, headWith(), { schema: SCHEMA });
    const drift = checkOf(matching, 'drift');
    if (drift.verdict === 'SKIPPED') skip(`no Prisma schema engine can run the drift check: ${drift.reason}`);
    expect(problems(matching)).toEqual([]);
    expect(matching).toMatchObject({ verdict: 'SAFE', exitCode: 0 });

    const edited = path.join(mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-schema-')), 'schema.prisma');
    onTestFinished(() => rmSync(path.dirname(edited), { recursive: true, force: true }));
    writeFileSync(
      edited,
      readFileSync(SCHEMA, 'utf8').replace(
        '  nickname  String?   @db.VarChar(40)\n',
        '  nickname  String?   @db.VarChar(40)\n  phone     String?\n',
      ),
    );
    const differs = await smokeOn(shipgate, PREFIX, headWith(), { schema: edited });
    expect(differs).toMatchObject({ verdict: 'FAIL', exitCode: 2, failing: [`drift/schema-differs:${edited}`] });
    expect(problems(differs)).toEqual([`FAIL drift/schema-differs:${edited}`]);
    expect(checkOf(differs, 'drift').verdict).toBe('FAIL');
  });

  test('a removed applied migration: FAIL (twin: the same migrations kept, SAFE)', async ({ shipgate }) => {
    const head = headWith();
    rmSync(path.join(head, '20250102000000_catalog'), { recursive: true });
    const r = await smokeOn(shipgate, PREFIX, head);
    expect(r).toMatchObject({ verdict: 'FAIL', exitCode: 2 });
    expect(findings(r, 'history/missing')).toEqual([
      expect.objectContaining({ verdict: 'FAIL', migration: '20250102000000_catalog' }),
    ]);
    expect(checkOf(r, 'history').verdict).toBe('FAIL');
    expect(r.failing).toContain('history/missing:20250102000000_catalog');

    const kept = await smokeOn(shipgate, PREFIX, headWith());
    expect(problems(kept)).toEqual([]);
    expect(kept).toMatchObject({ verdict: 'SAFE', exitCode: 0 });
  });

  test('a changed migration_lock.toml: FAIL (twin: the same file with CRLF line endings, SAFE)', async ({
    shipgate,
  }) => {
    const head = headWith();
    const lock = path.join(head, 'migration_lock.toml');
    const original = readFileSync(lock, 'utf8');
    writeFileSync(lock, original.replace('provider = "postgresql"', 'provider = "cockroachdb"'));
    const r = await smokeOn(shipgate, PREFIX, head);
    expect(r).toMatchObject({ verdict: 'FAIL', exitCode: 2 });
    expect(r.failing).toContain('history/lockfile-changed:migration_lock.toml');
    expect(findings(r, 'history/lockfile-changed')[0]?.verdict).toBe('FAIL');

    writeFileSync(lock, original.replace(/\n/g, '\r\n'));
    const same = await smokeOn(shipgate, PREFIX, head);
    expect(problems(same)).toEqual([]);
    expect(same.verdict).toBe('SAFE');
  });

  test('a NOT VALID constraint is information: verdict SAFE, exit 0, shown as info (twin: validated, none)', async ({
    shipgate,
  }) => {
    const run = cli([
      '--base',
      SHOP,
      '--head',
      headWith('not-valid-constraint'),
      '--no-schema',
      '--database-url',
      shipgate.adminUrl,
    ]);
    expect(run.status).toBe(0);
    // JSON keeps the class on the finding; the check and the run stay SAFE.
    const r = JSON.parse(readFileSync(path.join(run.report, 'migration-smoke.json'), 'utf8')) as SmokeResult;
    expect(problems(r)).toEqual(['INFO invariants/not-valid-constraint:order_items.order_items_quantity_min']);
    expect(r).toMatchObject({ verdict: 'SAFE', exitCode: 0, failing: [] });
    expect(checkOf(r, 'invariants')).toMatchObject({
      verdict: 'SAFE',
      evidence: { notValid: ['order_items.order_items_quantity_min'] },
      findings: [{ code: 'invariants/not-valid-constraint', verdict: 'INFO' }],
    });
    // The summary lists it as information.
    expect(run.stdout).toMatch(/^shipgate migrate smoke: SAFE \(exit 0\)/);
    expect(run.stdout).toContain(
      'information (does not affect the verdict):\n  info   invariants    Constraint "order_items_quantity_min" on "order_items" is NOT VALID',
    );
    expect(run.stdout).not.toContain('findings, worst first');
    // The records pass with an info message and count; the Markdown shows the count, never a WARN.
    const merged = mergeReports([run.report]);
    const record = merged.records.find((x) => x.evidence?.check === 'invariants');
    expect(record).toMatchObject({
      status: 'passed',
      metrics: { findings: 0, info: 1 },
      evidence: { verdict: 'SAFE' },
    });
    expect(record?.message).toMatch(/^info: Constraint "order_items_quantity_min"/);
    const markdown = renderMarkdown(merged, countRecords(merged, parsePolicy(undefined)));
    expect(markdown).toContain('› Invariants (indexes, sequences, constraints) | SAFE | findings 0, info 1 |');
    expect(markdown).not.toMatch(/WARN/);

    const validated = await smokeOn(shipgate, PREFIX, headWith('not-valid-validated'));
    expect(problems(validated)).toEqual([]);
    expect(checkOf(validated, 'invariants').evidence.notValid).toEqual([]);
  });

  test('--severity locks/*=WARN turns the blocking index build into WARN: verdict and exit change (twin: without it, UNSAFE, exit 2)', async ({
    shipgate,
  }) => {
    const head = headWith('index-blocking');
    const base = ['--base', SHOP, '--head', head, '--no-schema', '--database-url', shipgate.adminUrl, '--no-records'];
    const strict = cli(base);
    expect(strict.status).toBe(2);
    expect(strict.stdout).toMatch(/^shipgate migrate smoke: UNSAFE \(exit 2\)/);

    const relaxed = cli([...base, '--severity', 'locks/*=WARN']);
    expect(relaxed.stderr).not.toContain('Unknown option');
    expect(relaxed.status).toBe(0);
    expect(relaxed.stdout).toMatch(/^shipgate migrate smoke: WARN \(exit 0\)/);
    expect(relaxed.stdout).toMatch(/ {2}WARN {3}locks .*\[severity "locks\/\*=WARN"\]/);

    // The env var, as a comma list; severity runs before fail-on, so the remapped WARN can still fail.
    const env = cli(base, { SHIPGATE_SMOKE_SEVERITY: 'locks/*=WARN,lint/*=INFO', SHIPGATE_SMOKE_FAIL_ON: 'locks/*' });
    expect(env.status).toBe(2);
    expect(env.stdout).toMatch(/^shipgate migrate smoke: WARN \(exit 2\)/);
    expect(env.stdout).toContain('info   lint');

    // The library option.
    const lib = await smokeOn(shipgate, PREFIX, head, { severity: ['locks/blocking-index-build:orders=SAFE'] });
    expect(findings(lib, 'locks/blocking-index-build')[0]).toMatchObject({
      verdict: 'SAFE',
      severity: 'locks/blocking-index-build:orders=SAFE',
    });
    expect(lib).toMatchObject({ verdict: 'WARN', exitCode: 0 });
  });

  test('a bad --severity value: exit 64 naming the flag, the value and the levels (env and option too)', async () => {
    const flag = cli(['--base', SHOP, '--head', SHOP, '--severity', 'locks/*=LOUD']);
    expect(flag.status).toBe(64);
    expect(flag.stderr).toBe(
      'shipgate migrate smoke: --severity "locks/*=LOUD": level "LOUD" is not one of FAIL, UNSAFE, WARN, INFO, SAFE (e.g. locks/*=WARN)\n',
    );
    const shape = cli(['--base', SHOP, '--head', SHOP, '--severity', 'locks/*']);
    expect(shape.status).toBe(64);
    expect(shape.stderr).toContain('--severity "locks/*" is not <code-pattern>=<level>, e.g. locks/*=WARN');
    const env = cli(['--base', SHOP, '--head', SHOP], { SHIPGATE_SMOKE_SEVERITY: 'lint/*=WARN,data/*=MAYBE' });
    expect(env.status).toBe(64);
    expect(env.stderr).toContain(
      'SHIPGATE_SMOKE_SEVERITY "data/*=MAYBE": level "MAYBE" is not one of FAIL, UNSAFE, WARN, INFO, SAFE',
    );
    const lib = await migrationSmoke({ base: SHOP, head: SHOP, severity: ['data/*=maybe'] }).catch((e: unknown) => e);
    expect(lib).toBeInstanceOf(ConfigError);
    expect((lib as ConfigError).problems).toEqual([
      'severity "data/*=maybe": level "maybe" is not one of FAIL, UNSAFE, WARN, INFO, SAFE (e.g. data/*=WARN)',
    ]);
  });

  test('a configured pg_dump older than the server: FAIL, the template copy stands in (twin: auto, the real dump, SAFE)', async ({
    shipgate,
    skip,
  }) => {
    if (!dumpToolsFor(shipgate)) skip(`no pg_dump ${shipgate.major} for the twin`);
    // A pg_dump one major older than the server: the smoke asks it for its version, then must refuse it.
    const bin = mkdtempSync(path.join(tmpdir(), 'shipgate-smoke-pgdump-'));
    onTestFinished(() => rmSync(bin, { recursive: true, force: true }));
    const old = path.join(bin, 'pg_dump');
    writeFileSync(old, `#!/bin/sh\necho "pg_dump (PostgreSQL) ${shipgate.major - 1}.9"\n`, { mode: 0o755 });
    const head = headWith();
    const forced = await smokeOn(shipgate, PREFIX, head, { pgDump: old });
    expect(forced).toMatchObject({ verdict: 'FAIL', exitCode: 2, failing: ['backup/pg-dump-unusable'] });
    expect(checkOf(forced, 'backup').verdict).toBe('FAIL');
    expect(findings(forced, 'backup/pg-dump-unusable')[0]?.message).toMatch(
      new RegExp(
        `^No backup can be made as configured: pg_dump "${old}" is ${shipgate.major - 1}\\.9, but the server is ${shipgate.major}\\.[^:]+: the backup must be made with pg_dump ${shipgate.major}\\. Set SHIPGATE_PG_DUMP`,
      ),
    );
    expect(checkOf(forced, 'restore')).toMatchObject({
      verdict: 'SAFE',
      evidence: { method: 'template-database copy (no pg_dump of the server major)' },
    });

    const auto = await smokeOn(shipgate, PREFIX, head);
    expect(problems(auto)).toEqual([]);
    expect(checkOf(auto, 'backup').evidence.method).toBe('pg_dump -Fc');
  });
});
