import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { smokeRecords } from './records.ts';
import { renderSmokeSummary } from './render.ts';
import { parseSeverity, scaleLevel } from './scale.ts';
import type { CheckResult, Finding, SmokeResult } from './types.ts';
import { finalize, matches } from './verdict.ts';

const finding = (code: string, verdict: Finding['verdict'], target?: string): Finding => ({
  code,
  verdict,
  message: `${code} on ${target ?? '-'}`,
  ...(target ? { target } : {}),
});

const checks = (): CheckResult[] => [
  {
    id: 'lint',
    title: 'Static lint (squawk)',
    verdict: 'WARN',
    durationMs: 1,
    findings: [finding('lint/ban-drop-column', 'WARN', 'm1')],
    evidence: {},
  },
  {
    id: 'data',
    title: 'Data lost or changed',
    verdict: 'UNSAFE',
    durationMs: 2,
    findings: [finding('data/column-dropped', 'UNSAFE', 'users.legacy')],
    evidence: {},
  },
  {
    id: 'drift',
    title: 'Drift against schema.prisma',
    verdict: 'SKIPPED',
    reason: 'no schema.prisma',
    durationMs: 0,
    findings: [],
    evidence: {},
  },
];

describe('verdict policy', () => {
  test('patterns match code, code:target and code:migration, with * wildcards', () => {
    const f = { ...finding('data/column-dropped', 'UNSAFE', 'users.legacy'), migration: '2025_drop' };
    expect(matches('data/column-dropped', f)).toBe(true);
    expect(matches('data/column-dropped:users.legacy', f)).toBe(true);
    expect(matches('data/*:users.*', f)).toBe(true);
    expect(matches('data/column-dropped:2025_drop', f)).toBe(true);
    expect(matches('data/column-dropped:orders.*', f)).toBe(false);
    expect(matches('data/column', f)).toBe(false);
  });

  test('UNSAFE fails the run (exit 2); allow turns it into WARN (exit 0); failOn makes a WARN fail', () => {
    expect(finalize(checks(), { allow: [], failOn: [] })).toEqual({
      verdict: 'UNSAFE',
      exitCode: 2,
      failing: ['data/column-dropped:users.legacy'],
    });
    const allowed = checks();
    expect(finalize(allowed, { allow: ['data/column-dropped:users.*'], failOn: [] })).toEqual({
      verdict: 'WARN',
      exitCode: 0,
      failing: [],
    });
    expect(allowed[1]).toMatchObject({
      verdict: 'WARN',
      findings: [{ verdict: 'WARN', allowed: 'data/column-dropped:users.*' }],
    });
    const strict = checks();
    expect(finalize(strict, { allow: ['data/*'], failOn: ['lint/*'] })).toEqual({
      verdict: 'WARN',
      exitCode: 2,
      failing: ['lint/ban-drop-column:m1'],
    });
    expect(strict[2]?.verdict).toBe('SKIPPED');
  });

  test('records: one per check; UNSAFE fails, WARN passes with its verdict, SKIPPED carries the reason', () => {
    const list = checks();
    const policy = finalize(list, { allow: [], failOn: [] });
    const result = {
      ...policy,
      format: 'shipgate.migration-smoke/v1',
      base: { source: 'dir', label: '/repo/base', migrations: [] },
      head: { source: 'dir', label: '/repo/prisma/migrations', migrations: ['m1'] },
      newMigrations: ['m1'],
      migrator: 'prisma-sql',
      server: { provider: 'embedded', version: '18.4', major: 18 },
      settings: { timeZone: 'UTC', lockTimeout: '5s', statementTimeout: '60s' },
      files: [],
      checks: list,
      steps: [{ step: 'seed', durationMs: 12 }],
      durationMs: 50,
      startedAt: '2026-01-01T00:00:00.000Z',
    } satisfies SmokeResult;
    const records = smokeRecords(result, '/repo');
    expect(records.map((r) => [r.name, r.status, r.kind, r.runner, r.file])).toEqual([
      ['Static lint (squawk)', 'passed', 'migration', 'migrate-smoke', 'prisma/migrations'],
      ['Data lost or changed', 'failed', 'migration', 'migrate-smoke', 'prisma/migrations'],
      ['Drift against schema.prisma', 'skipped', 'migration', 'migrate-smoke', 'prisma/migrations'],
    ]);
    expect(records[0]?.evidence?.verdict).toBe('WARN');
    expect(records[1]?.message).toBe('data/column-dropped on users.legacy');
    expect(records[2]?.message).toBe('no schema.prisma');

    const summary = renderSmokeSummary(result);
    expect(summary.split('\n')[0]).toBe(
      'shipgate migrate smoke: UNSAFE (exit 2) — 1 new migration(s) over /repo/base, Postgres 18.4 (embedded), 0 seeded rows, 50 ms',
    );
    // Worst first: the UNSAFE finding before the WARN one.
    expect(summary.indexOf('data/column-dropped on users.legacy')).toBeLessThan(
      summary.indexOf('lint/ban-drop-column on m1'),
    );
    expect(summary).toContain('  drift         no schema.prisma');

    // Each applied file is also a measurement record: duration, longest lock hold, rewrites, WAL.
    const withFile = {
      ...result,
      files: [
        {
          migration: 'm1',
          durationMs: 412,
          walBytes: 2048,
          locks: [
            {
              relation: 'users',
              kind: 'table',
              mode: 'AccessExclusiveLock',
              holdMs: 380,
              waitedMs: 0,
              existed: true,
              blocksWrites: true,
              blocksReads: true,
            },
            {
              relation: 'users_pkey',
              kind: 'index',
              mode: 'ShareLock',
              holdMs: 20,
              waitedMs: 0,
              existed: true,
              blocksWrites: true,
              blocksReads: false,
            },
          ],
          rewritten: [{ relation: 'users', kind: 'table' }],
          created: [],
          dropped: [],
          samples: 90,
          sampleIntervalMs: 4.5,
        },
      ],
    } satisfies SmokeResult;
    const file = smokeRecords(withFile, '/repo').find((r) => r.name === 'apply: m1');
    expect(file).toMatchObject({
      kind: 'migration',
      status: 'passed',
      metrics: { durationMs: 412, lockHoldMs: 380, rewrites: 1, walBytes: 2048 },
      evidence: { verdict: 'SAFE', strongestLock: { mode: 'AccessExclusiveLock', relation: 'users', holdMs: 380 } },
    });
  });
  test('the scale: drift, edited/removed history, lockfile, restore and backup failures are FAIL; locks and data UNSAFE; NOT VALID is INFO', () => {
    const list: CheckResult[] = [
      {
        id: 'history',
        title: 'History integrity',
        verdict: 'UNSAFE',
        durationMs: 0,
        // As a check built before the scale would have them: UNSAFE.
        findings: [
          finding('history/edited', 'UNSAFE', 'm0'),
          finding('history/missing', 'UNSAFE', 'm1'),
          finding('history/lockfile-changed', 'UNSAFE', 'migration_lock.toml'),
          finding('history/non-linear', 'WARN', 'm9'),
          finding('history/line-endings', 'SAFE', 'm2'),
        ],
        evidence: {},
      },
      {
        id: 'drift',
        title: 'Drift',
        verdict: 'UNSAFE',
        durationMs: 0,
        findings: [finding('drift/schema-differs', 'UNSAFE', 'schema.prisma')],
        evidence: {},
      },
      {
        id: 'restore-after',
        title: 'Dump and restore after migration',
        verdict: 'UNSAFE',
        durationMs: 0,
        findings: [finding('restore-after/restore-failed', 'UNSAFE')],
        evidence: {},
      },
      {
        id: 'invariants',
        title: 'Invariants',
        verdict: 'WARN',
        durationMs: 0,
        findings: [finding('invariants/not-valid-constraint', 'WARN', 'orders.orders_total_check')],
        evidence: {},
      },
      {
        id: 'lint',
        title: 'Static lint (squawk)',
        verdict: 'WARN',
        durationMs: 0,
        findings: [
          { ...finding('lint/changing-column-type', 'SAFE', 'm3'), evidence: { refutedBy: 'measurement' } },
          finding('lint/ban-drop-column', 'WARN', 'm3'),
        ],
        evidence: {},
      },
    ];
    expect(finalize(list, { allow: [], failOn: [] })).toEqual({
      verdict: 'FAIL',
      exitCode: 2,
      failing: [
        'history/edited:m0',
        'history/missing:m1',
        'history/lockfile-changed:migration_lock.toml',
        'drift/schema-differs:schema.prisma',
        'restore-after/restore-failed',
      ],
    });
    expect(list.map((c) => [c.id, c.verdict, c.findings.map((f) => f.verdict)])).toEqual([
      ['history', 'FAIL', ['FAIL', 'FAIL', 'FAIL', 'WARN', 'SAFE']],
      ['drift', 'FAIL', ['FAIL']],
      ['restore-after', 'FAIL', ['FAIL']],
      ['invariants', 'SAFE', ['INFO']],
      ['lint', 'WARN', ['SAFE', 'WARN']],
    ]);
  });

  test('the checks agree with the scale on every code it lists, but where the scale decides centrally', () => {
    const sources = readdirSync(import.meta.dirname)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => readFileSync(path.join(import.meta.dirname, f), 'utf8'));
    const emitted = new Map<string, string>();
    for (const text of sources) {
      for (const m of text.matchAll(/code: '([a-z-]+\/[a-z-]+)',\s+verdict: '([A-Z]+)'/g))
        emitted.set(m[1] ?? '', m[2] ?? '');
    }
    expect(emitted.size).toBeGreaterThan(25);
    const differs = [...emitted]
      .map(([code, verdict]) => [code, verdict, scaleLevel({ code, verdict: 'SAFE', message: '' })])
      .filter(([, verdict, level]) => level !== undefined && verdict !== level);
    expect(scaleLevel({ code: 'locks/a-new-code', verdict: 'WARN', message: '' })).toBeUndefined();
    // Checks owned elsewhere whose class the scale sets centrally (issue 15 §1, §5).
    expect(differs).toEqual([
      ['invariants/invalid-index', 'UNSAFE', 'FAIL'],
      ['invariants/not-valid-constraint', 'WARN', 'INFO'],
    ]);
  });

  test('INFO never raises the run: info only is SAFE and exit 0; a failOn pattern can still fail on it', () => {
    const info = (): CheckResult[] => [
      {
        id: 'invariants',
        title: 'Invariants',
        verdict: 'WARN',
        durationMs: 0,
        findings: [finding('invariants/not-valid-constraint', 'WARN', 'orders.c')],
        evidence: {},
      },
    ];
    expect(finalize(info(), { allow: [], failOn: [] })).toEqual({ verdict: 'SAFE', exitCode: 0, failing: [] });
    expect(finalize(info(), { allow: [], failOn: ['invariants/*'] })).toEqual({
      verdict: 'SAFE',
      exitCode: 2,
      failing: ['invariants/not-valid-constraint:orders.c'],
    });
  });

  test('severity first, then allow, then failOn', () => {
    const { rules } = parseSeverity(['lint/*=unsafe,data/column-dropped:users.*=WARN'], '--severity');
    const list = checks();
    // lint becomes UNSAFE, then allow accepts it (WARN), then failOn fails it.
    expect(finalize(list, { allow: ['lint/*'], failOn: ['lint/ban-drop-column'], severity: rules })).toEqual({
      verdict: 'WARN',
      exitCode: 2,
      failing: ['lint/ban-drop-column:m1'],
    });
    expect(list[0]?.findings[0]).toMatchObject({
      verdict: 'WARN',
      severity: 'lint/*=UNSAFE',
      allowed: 'lint/*',
      failsRun: 'lint/ban-drop-column',
    });
    expect(list[1]?.findings[0]).toMatchObject({ verdict: 'WARN', severity: 'data/column-dropped:users.*=WARN' });
    expect(list[1]?.findings[0]?.allowed).toBeUndefined();
    // A rule can raise a class too, and INFO/SAFE are levels like the others.
    const raised = checks();
    const up = parseSeverity(['lint/*=FAIL', 'data/*=INFO'], '--severity').rules;
    expect(finalize(raised, { allow: [], failOn: [], severity: up })).toEqual({
      verdict: 'FAIL',
      exitCode: 2,
      failing: ['lint/ban-drop-column:m1'],
    });
    expect(raised[1]?.verdict).toBe('SAFE');
  });

  test('bad severity values name the source, the value and the allowed levels', () => {
    expect(parseSeverity(['locks/*=LOUD', 'locks/*', '=WARN', 'data/*=warn'], '--severity')).toEqual({
      rules: [{ pattern: 'data/*', level: 'WARN' }],
      problems: [
        '--severity "locks/*=LOUD": level "LOUD" is not one of FAIL, UNSAFE, WARN, INFO, SAFE (e.g. locks/*=WARN)',
        '--severity "locks/*" is not <code-pattern>=<level>, e.g. locks/*=WARN (levels: FAIL, UNSAFE, WARN, INFO, SAFE)',
        '--severity "=WARN" is not <code-pattern>=<level>, e.g. locks/*=WARN (levels: FAIL, UNSAFE, WARN, INFO, SAFE)',
      ],
    });
  });

  test('info findings: the summary lists them as information, records pass with an info message and count', () => {
    const list: CheckResult[] = [
      {
        id: 'invariants',
        title: 'Invariants (indexes, sequences, constraints)',
        verdict: 'WARN',
        durationMs: 1,
        findings: [finding('invariants/not-valid-constraint', 'WARN', 'orders.c')],
        evidence: {},
      },
    ];
    const policy = finalize(list, { allow: [], failOn: [] });
    const result = {
      ...policy,
      format: 'shipgate.migration-smoke/v1',
      base: { source: 'dir', label: '/repo/base', migrations: [] },
      head: { source: 'dir', label: '/repo/prisma/migrations', migrations: ['m1'] },
      newMigrations: ['m1'],
      migrator: 'prisma-sql',
      server: { provider: 'embedded', version: '18.4', major: 18 },
      settings: { timeZone: 'UTC', lockTimeout: '5s', statementTimeout: '60s' },
      files: [],
      checks: list,
      steps: [],
      durationMs: 5,
      startedAt: '2026-01-01T00:00:00.000Z',
    } satisfies SmokeResult;
    const summary = renderSmokeSummary(result);
    expect(summary.split('\n')[0]).toMatch(/^shipgate migrate smoke: SAFE \(exit 0\)/);
    expect(summary).not.toContain('findings, worst first');
    expect(summary).toContain(
      'information (does not affect the verdict):\n  info   invariants    invariants/not-valid-constraint on orders.c\n',
    );
    const [record] = smokeRecords(result, '/repo');
    expect(record).toMatchObject({
      status: 'passed',
      message: 'info: invariants/not-valid-constraint on orders.c',
      metrics: { findings: 0, info: 1 },
      evidence: { verdict: 'SAFE', findings: [{ verdict: 'INFO' }] },
    });
  });
});
