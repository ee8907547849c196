import { describe, expect, test } from 'vitest';
import { smokeRecords } from './records.ts';
import { renderSmokeSummary } from './render.ts';
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
});
