/**
 * Static lint of the new migration files with squawk (npm `squawk-cli`, whose platform binary
 * ships in an optional dependency and needs no install script). squawk's rule names are kept
 * as finding codes (`lint/<rule>`). Prisma sends a multi-statement file as one implicit
 * transaction and a single statement outside any, so multi-statement files are linted with
 * `--assume-in-transaction` and single statements without it.
 *
 * Lint findings are guesses from the SQL. Rules whose concern the smoke measures (rewrites,
 * locks, data loss) are later confirmed or refuted by the measurement (`reconcileLint`).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { installCommand } from '../core/optional.ts';
import { splitSqlStatements } from '../migrate/sql-split.ts';
import type { CheckResult, Finding } from './types.ts';
import { checkVerdict } from './verdict.ts';

/** squawk rules about what the smoke measures: rewrites, locks, scans, lost data. */
export const MEASURED_RULES: ReadonlySet<string> = new Set([
  'adding-field-with-default',
  'adding-foreign-key-constraint',
  'adding-not-nullable-field',
  'adding-required-field',
  'adding-serial-primary-key-field',
  'ban-drop-column',
  'ban-drop-table',
  'ban-drop-not-null',
  'changing-column-type',
  'constraint-missing-not-valid',
  'disallowed-unique-constraint',
  'require-concurrent-index-creation',
  'require-concurrent-index-deletion',
  'setting-not-nullable-field',
]);

interface SquawkViolation {
  file: string;
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

/** The squawk binary, or why there is none. */
export function squawkBinary(): { ok: true; path: string; version: string } | { ok: false; reason: string } {
  let bin: string;
  try {
    const req = createRequire(import.meta.url);
    bin = (req('squawk-cli/js/index.js') as { getBinaryPath(): string }).getBinaryPath();
  } catch (err) {
    return {
      ok: false,
      reason: `squawk is not installed (npm package "squawk-cli" with its platform package): ${(err as Error).message.split('\n')[0]}`,
    };
  }
  const run = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0) return { ok: false, reason: `${bin} --version exited ${run.status}: ${run.stderr.trim()}` };
  return { ok: true, path: bin, version: run.stdout.trim().replace(/^squawk\s+/, '') };
}

/** Lints `files` (new migrations) and returns the `lint` check. */
export function lintMigrations(
  files: { name: string; path: string; sql: string | undefined }[],
  options: { exclude: string[]; include: string[]; config: string | undefined; pgMajor?: number },
): CheckResult {
  const t0 = performance.now();
  const check = (findings: Finding[], evidence: Record<string, unknown>): CheckResult => ({
    id: 'lint',
    title: 'Static lint (squawk)',
    verdict: checkVerdict(findings),
    durationMs: performance.now() - t0,
    findings,
    evidence,
  });
  const readable = files.filter((f) => f.sql !== undefined);
  if (readable.length === 0) return check([], { files: 0 });
  const squawk = squawkBinary();
  if (!squawk.ok) {
    return {
      ...check([], {}),
      verdict: 'SKIPPED',
      reason: `${squawk.reason}; the migration lint needs it: install it with \`${installCommand(['squawk-cli'])}\` (or pass --no-squawk / squawk: false to skip on purpose)`,
    };
  }
  const multi = readable.filter((f) => splitSqlStatements(f.sql as string).length > 1);
  const single = readable.filter((f) => !multi.includes(f));
  const common = ['--reporter', 'json', '--no-error-on-unmatched-pattern'];
  if (options.exclude.length) common.push(`--exclude=${options.exclude.join(',')}`);
  if (options.include.length) common.push(`--include=${options.include.join(',')}`);
  if (options.config) common.push(`--config=${options.config}`);
  if (options.pgMajor) common.push(`--pg-version=${options.pgMajor}.0`);

  const violations: SquawkViolation[] = [];
  for (const [group, extra] of [
    [multi, ['--assume-in-transaction']],
    [single, ['--no-assume-in-transaction']],
  ] as const) {
    if (group.length === 0) continue;
    const run = spawnSync(squawk.path, [...common, ...extra, ...group.map((f) => f.path)], {
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = run.stdout.trim();
    let parsed: SquawkViolation[] | undefined;
    try {
      parsed = out ? (JSON.parse(out) as SquawkViolation[]) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (run.status !== 0 && run.status !== 1)) {
      const why = `${squawk.path} exited ${run.status ?? run.signal}: ${(run.stderr || out).trim().split('\n')[0]}`;
      return {
        ...check([], { squawk: squawk.version }),
        verdict: 'SKIPPED',
        reason: `squawk failed: ${why} (check squawk.exclude/include rule names and squawk.config)`,
      };
    }
    violations.push(...parsed);
  }

  const byPath = new Map(readable.map((f) => [f.path, f.name]));
  const findings: Finding[] = [];
  const syntaxSeen = new Set<string>();
  for (const v of violations) {
    const migration = byPath.get(v.file) ?? v.file;
    if (v.rule_name === 'syntax-error') {
      // squawk reports one syntax error per token after the first; one finding per file is enough.
      if (syntaxSeen.has(migration)) continue;
      syntaxSeen.add(migration);
    }
    findings.push({
      code: `lint/${v.rule_name}`,
      verdict: 'WARN',
      migration,
      target: migration,
      message: `squawk ${v.rule_name} at ${migration}/migration.sql:${v.line + 1}: ${v.message}${v.help ? ` (${v.help})` : ''}`,
      evidence: { rule: v.rule_name, line: v.line + 1, column: v.column + 1, level: v.level },
    });
  }
  return check(findings, {
    squawk: squawk.version,
    files: readable.length,
    assumeInTransaction: multi.map((f) => f.name),
    exclude: options.exclude,
  });
}

// Rules that claim a rewrite or lost data (the rest claim a blocking lock or scan).
const REWRITE_OR_DATA_RULES: ReadonlySet<string> = new Set([
  'adding-field-with-default',
  'adding-required-field',
  'ban-drop-column',
  'ban-drop-table',
  'ban-drop-not-null',
  'changing-column-type',
]);

/** Write-blocking locks the locks check measured in `migration` (its `evidence.blocking`). */
function blockingLocks(measured: readonly CheckResult[], migration: string) {
  const all = (measured.find((c) => c.id === 'locks')?.evidence.blocking ?? []) as {
    migration: string;
    relation: string;
    mode: string;
    holdMs: number;
    class: string;
  }[];
  return all.filter((l) => l.migration === migration);
}

/**
 * Confirms or refutes measured-rule lint findings with what the smoke measured for the same
 * migration: a guess about a rewrite, lock or loss that the locks and data checks did not
 * find becomes SAFE (with `refutedBy`); one they confirmed stays WARN.
 */
export function reconcileLint(lint: CheckResult, measured: readonly CheckResult[], appliedFiles: Set<string>): void {
  if (lint.verdict === 'SKIPPED') return;
  for (const f of lint.findings) {
    const rule = f.code.slice('lint/'.length);
    if (!MEASURED_RULES.has(rule) || !f.migration || !appliedFiles.has(f.migration)) continue;
    const confirming = measured
      .flatMap((c) => c.findings)
      .filter((m) => m.migration === f.migration && m.verdict !== 'SAFE');
    // A write-blocking lock measured in the file is never refuted: it confirms a lock rule, and a
    // rewrite or data rule only when the lock was metadata-only (it does not grow with the table).
    const locks = blockingLocks(measured, f.migration);
    const said = locks.map((l) => `${l.mode} on "${l.relation}" held ${l.holdMs} ms (${l.class})`).join(', ');
    if (
      confirming.length === 0 &&
      locks.length > 0 &&
      (!REWRITE_OR_DATA_RULES.has(rule) || locks.some((l) => l.class !== 'metadata'))
    ) {
      f.evidence = { ...f.evidence, measuredLock: `measurement: ${said}` };
    } else if (confirming.length === 0) {
      f.verdict = 'SAFE';
      f.evidence = {
        ...f.evidence,
        refutedBy: locks.length
          ? `measurement: no rewrite or data change in this file; its write-blocking lock (${said}) does not grow with the table`
          : 'measurement: no rewrite, blocking lock or data change in this file',
      };
    } else {
      f.evidence = { ...f.evidence, confirmedBy: [...new Set(confirming.map((m) => m.code))] };
    }
  }
  lint.verdict = checkVerdict(lint.findings);
}
