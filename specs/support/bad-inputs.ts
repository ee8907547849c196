/**
 * A catalogue of bad inputs, each of which must end in a clear error: the CLI's flags and
 * values, SHIPGATE_* variables, config files, migrations folders, report directories and
 * record files, SLO modules and k6 summaries. "Clear" is checked the same way for every entry
 * ({@link judge}): a non-zero exit (the exact code where the CLI defines one: 64 usage, 65
 * unusable record files, 1 for errors and config errors, as a Vitest startup error exits), the
 * value seen and the fix (flag, key or variable) in the output, no stack frames, no
 * `[object Object]`, no raw SyntaxError/TypeError, and no secret: every URL carries a password
 * `s3cr3t-…` that must not appear. specs/bad-inputs.test.ts runs them all; `pnpm bench:faults`
 * counts them (`BAD_INPUTS.length`, and how many {@link runBadInput} finds clear).
 *
 * Entries fail fast without a server: a database URL, when one is needed, points at
 * 127.0.0.1:1, where nothing listens.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(root, 'plugins', 'cli', 'shipgate.ts');
const VITEST = path.join(root, 'node_modules', '.bin', 'vitest');
const BAD_INPUT_CONFIG = 'specs/fixtures-vitest/bad-input.config.ts';

/** One bad input and what its error must say. `{{tmp}}` (a scratch dir) and `{{root}}` are replaced everywhere. */
export interface BadInput {
  /** Stable kebab-case id. */
  id: string;
  /** What is wrong, in words. */
  what: string;
  /** `shipgate` CLI arguments. */
  argv?: string[];
  /** Or a child Vitest run: a config file, or options for specs/fixtures-vitest/bad-input.config.ts. */
  vitest?: { config?: string; options?: Record<string, unknown> };
  /** Env vars over a clean environment (no SHIPGATE_* of the parent, a scratch report dir). */
  env?: Record<string, string>;
  /** Run in the scratch dir instead of the repo root (a project with nothing in it). */
  inScratch?: boolean;
  /** Files written into the scratch dir first, by relative path. */
  files?: Record<string, string | Buffer>;
  /** The exit code; must be non-zero. */
  expectExit: number;
  /** Texts the output must contain: the value seen and the fix (flag, config key, env var). */
  mustMention: string[];
  /** Why this entry is known not to be clear yet (and where the fix belongs); the spec expects it to fail. */
  knownUnclear?: string;
}

/** What one run showed. */
export interface BadInputResult {
  clear: boolean;
  exit: number;
  output: string;
  /** Why it is not clear, when it is not. */
  why?: string;
}

/** The URL of a server that is not there, with a password that must never be printed. */
export const DEAD_DB = 'postgres://shipgate:s3cr3t-dead-db@127.0.0.1:1/postgres';
const EXAMPLE_MIGRATIONS = 'example/prisma/migrations';
const SMOKE = [
  'migrate',
  'smoke',
  '--base',
  EXAMPLE_MIGRATIONS,
  '--head',
  EXAMPLE_MIGRATIONS,
  '--database-url',
  DEAD_DB,
];
const BUDGET = ['budget', '--url', 'http://127.0.0.1:1', '--slos', 'perf/example.slo.ts'];

const record = (over: Record<string, unknown> = {}) => ({
  id: 'test › a.test.ts › works',
  kind: 'test',
  runner: 'vitest',
  name: 'works',
  suite: [],
  status: 'passed',
  durationMs: 12,
  ...over,
});
/** A record file as `writeRecords` writes it, with `records` and file-level fields replaced. */
const recordFile = (records: unknown[], over: Record<string, unknown> = {}) =>
  `${JSON.stringify(
    {
      format: 'shipgate.records/v1',
      producer: 'vitest',
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:01.000Z',
      records,
      errors: [],
      ...over,
    },
    null,
    2,
  )}\n`;
const GOOD_RECORDS = { 'ok/records/vitest-1-1.json': recordFile([record()]) };
/** A report dir `bad/` whose one record file holds `records`; the entry's argv points at it. */
const badRecords = (records: unknown[], over: Record<string, unknown> = {}) => ({
  'bad/records/vitest-1-1.json': recordFile(records, over),
});
const BAD_FILE = '{{tmp}}/bad/records/vitest-1-1.json';

const LATIN1_MIGRATION = {
  'latin1/20250101000000_init/migration.sql': Buffer.from('-- caf\xe9 au lait\nCREATE TABLE t (id int);\n', 'latin1'),
};
const SLO_MODULES = {
  'empty.slo.ts': 'export const notAnSlo = 1;\n',
  'bad.slo.ts': `import { defineSlo } from '{{root}}/plugins/budget/index.ts';\nexport const bad = defineSlo({ id: 'bad', name: 'bad', endpoint: { method: 'FETCH', path: 'api' }, load: { kind: 'rate', rps: -1, duration: '30s' }, budgets: { p95: 200 } });\n`,
  'syntax.slo.ts': 'export const broken = {;\n',
};

/** A child Vitest run with these shipgate options (over a valid migrations folder) and env. */
const config = (options: Record<string, unknown>) => ({
  vitest: {
    options: { migrator: { kind: 'prisma-sql', migrationsDir: '../../example/prisma/migrations' }, ...options },
  },
});
/** A child Vitest run of a valid config with `env` set: the env var is the bad input. */
const withEnv = (env: Record<string, string>) => ({ ...config({}), env });

export const BAD_INPUTS: BadInput[] = [
  // The CLI itself
  {
    id: 'cli-unknown-command',
    what: 'a command that does not exist',
    argv: ['deploy'],
    expectExit: 64,
    mustMention: ['"deploy"', 'Known: budget, gate'],
  },
  {
    id: 'cli-no-command',
    what: 'no command at all',
    argv: [],
    expectExit: 64,
    mustMention: ['usage: shipgate <command>'],
  },

  // shipgate report: flags, directories, record files
  {
    id: 'report-unknown-flag',
    what: 'a flag report does not have',
    argv: ['report', '--format', 'html'],
    expectExit: 64,
    mustMention: ["'--format'", 'shipgate --help'],
  },
  {
    id: 'report-dir-missing',
    what: 'a report directory that does not exist',
    argv: ['report', '{{tmp}}/no-such-report'],
    expectExit: 64,
    mustMention: ['"{{tmp}}/no-such-report" does not exist', 'SHIPGATE_REPORT_DIR'],
  },
  {
    id: 'report-env-dir-missing',
    what: 'SHIPGATE_REPORT_DIR naming a directory that does not exist',
    argv: ['report'],
    env: { SHIPGATE_REPORT_DIR: '{{tmp}}/nowhere' },
    expectExit: 64,
    mustMention: ['"{{tmp}}/nowhere" does not exist', 'SHIPGATE_REPORT_DIR'],
  },
  {
    id: 'report-shard-dir-missing',
    what: 'two shard directories, the second missing (it must not merge the first alone)',
    argv: ['report', '{{tmp}}/ok', '{{tmp}}/shard-2'],
    files: GOOD_RECORDS,
    expectExit: 64,
    mustMention: ['"{{tmp}}/shard-2" does not exist', 'shipgate report <dir…>'],
  },
  {
    id: 'report-dir-empty',
    what: 'a report directory with no record files',
    argv: ['report', '{{tmp}}/empty'],
    files: { 'empty/.keep': '' },
    expectExit: 64,
    mustMention: ['No record files in "{{tmp}}/empty"', 'SHIPGATE_REPORT_DIR'],
  },
  {
    id: 'report-expect-shards-zero',
    what: '--expect-shards 0',
    argv: ['report', '{{tmp}}/ok', '--expect-shards', '0'],
    files: GOOD_RECORDS,
    expectExit: 64,
    mustMention: ['--expect-shards is "0"', 'positive integer'],
  },
  {
    id: 'report-expect-shards-word',
    what: '--expect-shards two',
    argv: ['report', '{{tmp}}/ok', '--expect-shards', 'two'],
    files: GOOD_RECORDS,
    expectExit: 64,
    mustMention: ['--expect-shards is "two"'],
  },
  {
    id: 'report-policy-code-out-of-range',
    what: '--policy with an exit code above 255',
    argv: ['report', '{{tmp}}/ok', '--policy', 'regression=999'],
    files: GOOD_RECORDS,
    expectExit: 64,
    mustMention: ['"regression=999"', '0 to 255', '--policy'],
  },
  {
    id: 'report-env-policy-unknown-outcome',
    what: 'SHIPGATE_EXIT_POLICY with a misspelt outcome',
    argv: ['report', '{{tmp}}/ok'],
    env: { SHIPGATE_EXIT_POLICY: 'flakey=2' },
    files: GOOD_RECORDS,
    expectExit: 64,
    mustMention: ['unknown outcome "flakey"', 'SHIPGATE_EXIT_POLICY'],
  },
  {
    id: 'report-sinks-unknown',
    what: '--sinks naming a sink that does not exist',
    argv: ['report', '{{tmp}}/ok', '--sinks', 'console,pdf'],
    files: GOOD_RECORDS,
    expectExit: 64,
    mustMention: ['"pdf"', 'known: json', '--sinks'],
  },
  {
    id: 'report-env-sinks-unknown',
    what: 'SHIPGATE_REPORT_SINKS naming a sink that does not exist',
    argv: ['report', '{{tmp}}/ok'],
    env: { SHIPGATE_REPORT_SINKS: 'xml' },
    files: GOOD_RECORDS,
    expectExit: 64,
    mustMention: ['"xml"', 'SHIPGATE_REPORT_SINKS'],
  },
  {
    id: 'report-record-status-unknown',
    what: 'a record whose status is not in the enum',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record({ status: 'pased' })]),
    expectExit: 65,
    mustMention: [BAD_FILE, 'records[0]', '.status is "pased"', 'one of passed, failed'],
  },
  {
    id: 'report-record-duration-string',
    what: 'a record whose duration is a string',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record(), record({ id: 'b', durationMs: '12ms' })]),
    expectExit: 65,
    mustMention: [BAD_FILE, 'records[1] ("b").durationMs is "12ms"', 'finite number'],
  },
  {
    id: 'report-record-duration-nan',
    what: 'a record whose duration was NaN (written as null)',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record({ durationMs: null })]),
    expectExit: 65,
    mustMention: ['durationMs is null', 'finite number'],
  },
  {
    id: 'report-record-name-missing',
    what: 'a record without a name',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record(), record({ id: 'nameless', name: undefined })]),
    expectExit: 65,
    mustMention: ['records[1] ("nameless").name is missing', 'non-empty string'],
  },
  {
    id: 'report-record-kind-unknown',
    what: 'a record of a kind the model does not have',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record({ kind: 'unit' })]),
    expectExit: 65,
    mustMention: ['.kind is "unit"', 'one of test, e2e'],
  },
  {
    id: 'report-record-not-object',
    what: 'a record that is a number',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([42]),
    expectExit: 65,
    mustMention: ['records[0] is 42', 'record object'],
  },
  {
    id: 'report-record-file-not-json',
    what: 'a record file cut off mid-write',
    argv: ['report', '{{tmp}}/bad'],
    files: { 'bad/records/vitest-1-1.json': '{"format": "shipgate.records/v1", "records": [' },
    expectExit: 65,
    mustMention: [BAD_FILE, 'is not valid JSON'],
  },
  {
    id: 'report-record-file-other-format',
    what: 'a JSON file of another tool among the record files',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record()], { format: 'junit/v2' }),
    expectExit: 65,
    mustMention: ['format "junit/v2"', 'shipgate.records/v1'],
  },
  {
    id: 'report-record-secret-in-value',
    what: 'an invalid field holding a database URL with its password',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record({ status: 'postgres://app:s3cr3t-in-record@db:5432/app' })]),
    expectExit: 65,
    mustMention: ['.status is "postgres://app:***@db:5432/app"'],
  },
  {
    id: 'report-record-shard-out-of-range',
    what: 'a record file written with SHIPGATE_SHARD=3/2',
    argv: ['report', '{{tmp}}/bad'],
    files: badRecords([record()], { shard: '3/2' }),
    expectExit: 65,
    mustMention: ['shard is "3/2"', 'SHIPGATE_SHARD'],
  },

  // shipgate test / gate (in an empty project, so nothing would run if the check failed)
  {
    id: 'test-env-phases-unknown',
    what: 'SHIPGATE_PHASES naming a phase that does not exist',
    argv: ['test'],
    inScratch: true,
    env: { SHIPGATE_PHASES: 'unit,lint' },
    expectExit: 1,
    mustMention: ['"lint"', 'SHIPGATE_PHASES', 'unit, budgets, e2e'],
  },
  {
    id: 'gate-env-phases-unknown',
    what: 'SHIPGATE_PHASES with a typo, through shipgate gate',
    argv: ['gate'],
    inScratch: true,
    env: { SHIPGATE_PHASES: 'unit,budget' },
    expectExit: 1,
    mustMention: ['"budget"', 'SHIPGATE_PHASES'],
  },

  // shipgate budget
  {
    id: 'budget-no-target',
    what: 'no --url and no --slos',
    argv: ['budget'],
    expectExit: 64,
    mustMention: ['--url', 'SHIPGATE_BUDGET_URL', '--slos', 'SHIPGATE_SLOS'],
  },
  {
    id: 'budget-slo-module-missing',
    what: 'an SLO module that does not exist',
    argv: ['budget', '--url', 'http://127.0.0.1:1', '--slos', '{{tmp}}/nope.slo.ts'],
    expectExit: 64,
    mustMention: ['"{{tmp}}/nope.slo.ts" does not exist'],
  },
  {
    id: 'budget-rounds-zero',
    what: '--rounds 0',
    argv: [...BUDGET, '--rounds', '0'],
    expectExit: 64,
    mustMention: ['--rounds is "0"', '1 to 100'],
  },
  {
    id: 'budget-rounds-negative',
    what: '--rounds=-3',
    argv: [...BUDGET, '--rounds=-3'],
    expectExit: 64,
    mustMention: ['--rounds is "-3"'],
  },
  {
    id: 'budget-profile-unknown',
    what: '--profile turbo',
    argv: [...BUDGET, '--profile', 'turbo'],
    expectExit: 64,
    mustMention: ['--profile is "turbo"', 'smoke, normal, stress, soak'],
  },
  {
    id: 'budget-env-profile-unknown',
    what: 'SHIPGATE_BUDGET_PROFILE=turbo',
    argv: BUDGET,
    env: { SHIPGATE_BUDGET_PROFILE: 'turbo' },
    expectExit: 64,
    mustMention: ['SHIPGATE_BUDGET_PROFILE is "turbo"'],
  },
  {
    id: 'budget-env-rounds-word',
    what: 'SHIPGATE_BUDGET_ROUNDS=many',
    argv: BUDGET,
    env: { SHIPGATE_BUDGET_ROUNDS: 'many' },
    expectExit: 64,
    mustMention: ['SHIPGATE_BUDGET_ROUNDS is "many"'],
  },
  {
    id: 'budget-url-no-scheme',
    what: '--url without http://',
    argv: ['budget', '--url', 'localhost:3000', '--slos', 'perf/example.slo.ts'],
    expectExit: 64,
    mustMention: ['--url', 'localhost:3000', 'http://127.0.0.1:3000'],
  },
  {
    id: 'budget-url-ftp-with-password',
    what: '--url with another scheme and a password',
    argv: ['budget', '--url', 'ftp://app:s3cr3t-ftp@files.example/', '--slos', 'perf/example.slo.ts'],
    expectExit: 64,
    mustMention: ['--url "ftp://app:***@files.example/" has protocol "ftp:"'],
  },
  {
    id: 'budget-env-url-not-url',
    what: 'SHIPGATE_BUDGET_URL that is not a URL',
    argv: ['budget', '--slos', 'perf/example.slo.ts'],
    env: { SHIPGATE_BUDGET_URL: 'the staging box' },
    expectExit: 64,
    mustMention: ['SHIPGATE_BUDGET_URL is not a URL: "the staging box"'],
  },
  {
    id: 'budget-metrics-url-bad',
    what: '--metrics-url without a host',
    argv: [...BUDGET, '--metrics-url', ':9464/metrics'],
    expectExit: 64,
    mustMention: ['--metrics-url', ':9464/metrics'],
  },
  {
    id: 'budget-slo-module-exports-nothing',
    what: 'an SLO module without defineSlo exports',
    argv: ['budget', '--url', 'http://127.0.0.1:1', '--slos', '{{tmp}}/empty.slo.ts'],
    files: SLO_MODULES,
    expectExit: 64,
    mustMention: ['"{{tmp}}/empty.slo.ts" exports no SLO', 'defineSlo'],
  },
  {
    id: 'budget-slo-invalid',
    what: 'an SLO with a bad method, path and rate',
    argv: ['budget', '--url', 'http://127.0.0.1:1', '--slos', '{{tmp}}/bad.slo.ts'],
    files: SLO_MODULES,
    expectExit: 64,
    mustMention: ['endpoint.method is "FETCH"', 'endpoint.path is "api"', 'load.rps is -1'],
  },
  {
    id: 'budget-slo-module-syntax-error',
    what: 'an SLO module that does not parse',
    argv: ['budget', '--url', 'http://127.0.0.1:1', '--slos', '{{tmp}}/syntax.slo.ts'],
    files: SLO_MODULES,
    expectExit: 64,
    mustMention: ['"{{tmp}}/syntax.slo.ts" failed to load', '--slos'],
  },
  {
    id: 'budget-only-unknown',
    what: '--only naming an SLO that does not exist',
    argv: [...BUDGET, '--only', 'example-tickets'],
    expectExit: 64,
    mustMention: ['--only "example-tickets" matches no SLO', 'example-tickets-list'],
  },
  {
    id: 'budget-unknown-flag',
    what: 'a flag budget does not have',
    argv: [...BUDGET, '--duration', '10s'],
    expectExit: 64,
    mustMention: ["'--duration'"],
  },

  // shipgate k6
  { id: 'k6-no-subcommand', what: 'k6 alone', argv: ['k6'], expectExit: 64, mustMention: ['usage: shipgate k6'] },
  {
    id: 'k6-unknown-subcommand',
    what: 'a k6 subcommand that does not exist',
    argv: ['k6', 'bench'],
    expectExit: 64,
    mustMention: ['unknown subcommand "bench"', 'shipgate k6 generate'],
  },
  {
    id: 'k6-generate-no-slos',
    what: 'k6 generate without --slos',
    argv: ['k6', 'generate'],
    expectExit: 64,
    mustMention: ['--slos', 'SHIPGATE_SLOS'],
  },
  {
    id: 'k6-run-no-url',
    what: 'k6 run without a target',
    argv: ['k6', 'run', '--slos', 'perf/example.slo.ts'],
    expectExit: 64,
    mustMention: ['--url', 'SHIPGATE_BUDGET_URL'],
  },
  {
    id: 'k6-profile-unknown',
    what: 'k6 generate --profile turbo',
    argv: ['k6', 'generate', '--slos', 'perf/example.slo.ts', '--profile', 'turbo', '--out', '{{tmp}}/k6'],
    expectExit: 64,
    mustMention: ['--profile is "turbo"'],
  },
  {
    id: 'k6-env-policy-unknown-outcome',
    what: 'SHIPGATE_EXIT_POLICY with a misspelt outcome, before k6 generates any load',
    argv: ['k6', 'generate', '--slos', 'perf/example.slo.ts', '--out', '{{tmp}}/k6'],
    env: { SHIPGATE_EXIT_POLICY: 'flakey=2' },
    expectExit: 64,
    mustMention: ['unknown outcome "flakey"', 'SHIPGATE_EXIT_POLICY'],
  },
  {
    id: 'budget-env-policy-unknown-outcome',
    what: 'SHIPGATE_EXIT_POLICY with a misspelt outcome, before budget measures anything',
    argv: ['budget', '--url', 'http://127.0.0.1:9', '--slos', 'perf/example.slo.ts'],
    env: { SHIPGATE_EXIT_POLICY: 'flakey=2' },
    expectExit: 64,
    mustMention: ['unknown outcome "flakey"', 'SHIPGATE_EXIT_POLICY'],
  },
  {
    id: 'k6-env-profile-unknown',
    what: 'SHIPGATE_BUDGET_PROFILE=turbo through k6 generate',
    argv: ['k6', 'generate', '--slos', 'perf/example.slo.ts', '--out', '{{tmp}}/k6'],
    env: { SHIPGATE_BUDGET_PROFILE: 'turbo' },
    expectExit: 64,
    mustMention: ['"turbo"', 'SHIPGATE_BUDGET_PROFILE'],
  },
  {
    id: 'k6-slo-module-syntax-error',
    what: 'k6 generate with an SLO module that does not parse',
    argv: ['k6', 'generate', '--slos', '{{tmp}}/syntax.slo.ts', '--out', '{{tmp}}/k6'],
    files: SLO_MODULES,
    expectExit: 64,
    mustMention: ['syntax.slo.ts', '--slos'],
  },
  {
    id: 'k6-parse-summary-missing',
    what: 'k6 parse of a summary that does not exist',
    argv: ['k6', 'parse', '{{tmp}}/tickets.summary.json'],
    expectExit: 1,
    mustMention: ['"{{tmp}}/tickets.summary.json" does not exist', 'SHIPGATE_K6_SUMMARY'],
  },
  {
    id: 'k6-parse-summary-truncated',
    what: 'k6 parse of a summary cut off mid-write',
    argv: ['k6', 'parse', '{{tmp}}/cut.summary.json'],
    files: { 'cut.summary.json': '{"metrics": {"http_reqs": ' },
    expectExit: 1,
    mustMention: ['"{{tmp}}/cut.summary.json" is truncated'],
  },
  {
    id: 'k6-manifest-parallelism-zero',
    what: 'k6 manifest --parallelism 0',
    argv: [
      'k6',
      'manifest',
      '--slos',
      'perf/example.slo.ts',
      '--only',
      'example-tickets-list',
      '--url',
      'http://app:3000',
      '--parallelism',
      '0',
    ],
    expectExit: 64,
    mustMention: ['--parallelism is "0"'],
  },
  {
    id: 'k6-manifest-several-slos',
    what: 'k6 manifest without --only',
    argv: ['k6', 'manifest', '--slos', 'perf/example.slo.ts', '--url', 'http://app:3000'],
    expectExit: 64,
    mustMention: ['exactly one SLO', '--only'],
  },

  // shipgate migrate deploy
  {
    id: 'migrate-no-subcommand',
    what: 'migrate alone',
    argv: ['migrate'],
    expectExit: 64,
    mustMention: ['usage: shipgate migrate deploy'],
  },
  {
    id: 'migrate-deploy-no-url',
    what: 'migrate deploy without a database URL',
    argv: ['migrate', 'deploy', '--dir', EXAMPLE_MIGRATIONS],
    expectExit: 64,
    mustMention: ['--url', 'DATABASE_URL'],
  },
  {
    id: 'migrate-deploy-url-http',
    what: 'migrate deploy --url http://…',
    argv: ['migrate', 'deploy', '--dir', EXAMPLE_MIGRATIONS, '--url', 'http://app:s3cr3t-http@db:5432/app'],
    expectExit: 64,
    mustMention: ['--url "http://app:***@db:5432/app" has protocol "http:"', 'postgres://'],
  },
  {
    id: 'migrate-deploy-url-not-url',
    what: 'migrate deploy --url that is not a URL',
    argv: ['migrate', 'deploy', '--dir', EXAMPLE_MIGRATIONS, '--url', 'the prod db'],
    expectExit: 64,
    mustMention: ['--url is not a URL: "the prod db"'],
  },
  {
    id: 'migrate-deploy-env-url-mysql',
    what: 'DATABASE_URL of another database',
    argv: ['migrate', 'deploy', '--dir', EXAMPLE_MIGRATIONS],
    env: { DATABASE_URL: 'mysql://app:s3cr3t-mysql@db:3306/app' },
    expectExit: 64,
    mustMention: ['DATABASE_URL "mysql://app:***@db:3306/app" has protocol "mysql:"'],
  },
  {
    id: 'migrate-deploy-dir-missing',
    what: 'migrate deploy --dir of a folder that does not exist',
    argv: ['migrate', 'deploy', '--url', DEAD_DB, '--dir', '{{tmp}}/migrations'],
    expectExit: 64,
    mustMention: ['"{{tmp}}/migrations" (from --dir) does not exist', 'SHIPGATE_MIGRATIONS_DIR'],
  },
  {
    id: 'migrate-deploy-env-dir-missing',
    what: 'SHIPGATE_MIGRATIONS_DIR of a folder that does not exist',
    argv: ['migrate', 'deploy', '--url', DEAD_DB],
    env: { SHIPGATE_MIGRATIONS_DIR: '{{tmp}}/db/migrations' },
    expectExit: 64,
    mustMention: ['"{{tmp}}/db/migrations" (from SHIPGATE_MIGRATIONS_DIR) does not exist'],
  },
  {
    id: 'migrate-deploy-not-utf8',
    what: 'a Latin-1 migration.sql',
    argv: ['migrate', 'deploy', '--url', DEAD_DB, '--dir', '{{tmp}}/latin1'],
    files: LATIN1_MIGRATION,
    expectExit: 1,
    mustMention: ['{{tmp}}/latin1/20250101000000_init/migration.sql', 'is not UTF-8', 'byte 0xe9', 'iconv'],
  },
  {
    id: 'migrate-deploy-unreachable',
    what: 'migrate deploy against a server that is not there',
    argv: ['migrate', 'deploy', '--url', DEAD_DB, '--dir', EXAMPLE_MIGRATIONS],
    expectExit: 1,
    mustMention: ['127.0.0.1:1', 'ECONNREFUSED'],
  },
  {
    id: 'migrate-deploy-unknown-flag',
    what: 'a flag deploy does not have',
    argv: ['migrate', 'deploy', '--schema', 'prisma/schema.prisma'],
    expectExit: 64,
    mustMention: ["'--schema'"],
  },

  // shipgate migrate smoke
  {
    id: 'smoke-no-base',
    what: 'migrate smoke without a base',
    argv: ['migrate', 'smoke', '--head', EXAMPLE_MIGRATIONS, '--database-url', DEAD_DB],
    expectExit: 1,
    mustMention: ['base is not set', '--base', 'SHIPGATE_SMOKE_BASE'],
  },
  {
    id: 'smoke-rows-huge',
    what: '--rows 1e12',
    argv: [...SMOKE, '--rows', '1e12'],
    expectExit: 1,
    mustMention: ['"1e12"', '--rows'],
  },
  {
    id: 'smoke-env-rows-huge',
    what: 'SHIPGATE_SMOKE_ROWS=1e12',
    argv: SMOKE,
    env: { SHIPGATE_SMOKE_ROWS: '1e12' },
    expectExit: 1,
    mustMention: ['SHIPGATE_SMOKE_ROWS is "1e12"'],
  },
  {
    id: 'smoke-rows-negative',
    what: '--rows=-5',
    argv: [...SMOKE, '--rows=-5'],
    expectExit: 1,
    mustMention: ['"-5"', '--rows'],
  },
  {
    id: 'smoke-rows-for-no-count',
    what: '--rows-for without =N',
    argv: [...SMOKE, '--rows-for', 'users'],
    expectExit: 64,
    mustMention: ['--rows-for "users"', 'table=N'],
  },
  {
    id: 'smoke-lock-budget-word',
    what: '--lock-budget-ms soon',
    argv: [...SMOKE, '--lock-budget-ms', 'soon'],
    expectExit: 64,
    mustMention: ['--lock-budget-ms is "soon"'],
  },
  {
    id: 'smoke-env-lock-budget-negative',
    what: 'SHIPGATE_SMOKE_LOCK_BUDGET_MS=-5',
    argv: SMOKE,
    env: { SHIPGATE_SMOKE_LOCK_BUDGET_MS: '-5' },
    expectExit: 1,
    mustMention: ['"-5"', 'SHIPGATE_SMOKE_LOCK_BUDGET_MS'],
  },
  {
    id: 'smoke-timezone-with-space',
    what: '--timezone with a space',
    argv: [...SMOKE, '--timezone', 'Mars Time'],
    expectExit: 64,
    mustMention: ['--timezone is "Mars Time"'],
  },
  {
    id: 'smoke-env-lock-timeout-with-space',
    what: 'SHIPGATE_SMOKE_LOCK_TIMEOUT="5 s"',
    argv: SMOKE,
    env: { SHIPGATE_SMOKE_LOCK_TIMEOUT: '5 s' },
    expectExit: 1,
    mustMention: ['"5 s"', 'SHIPGATE_SMOKE_LOCK_TIMEOUT'],
  },
  {
    id: 'smoke-migrator-unknown',
    what: '--migrator flyway',
    argv: [...SMOKE, '--migrator', 'flyway'],
    expectExit: 64,
    mustMention: ['--migrator is "flyway"', 'prisma-sql or prisma'],
  },
  {
    id: 'smoke-env-migrator-unknown',
    what: 'SHIPGATE_MIGRATOR=flyway for the smoke',
    argv: SMOKE,
    env: { SHIPGATE_MIGRATOR: 'flyway' },
    expectExit: 1,
    mustMention: ['SHIPGATE_MIGRATOR is "flyway"'],
  },
  {
    id: 'smoke-restore-target-mysql',
    what: '--restore-target of a MySQL URL with a password',
    argv: [...SMOKE, '--restore-target', 'mysql://app:s3cr3t-target@127.0.0.1:1/app'],
    expectExit: 1,
    mustMention: [
      'restoreTarget is "mysql://app:***@127.0.0.1:1/app"',
      'same, server or a postgres://',
      '--restore-target',
    ],
  },
  {
    id: 'smoke-env-restore-roles-space',
    what: 'SHIPGATE_SMOKE_RESTORE_ROLES with a name holding a space',
    argv: SMOKE,
    env: { SHIPGATE_SMOKE_RESTORE_ROLES: 'reporting,read only' },
    expectExit: 1,
    mustMention: ['SHIPGATE_SMOKE_RESTORE_ROLES has "read only"', '--restore-roles'],
  },
  {
    id: 'smoke-replay-queries-missing',
    what: '--replay-queries of a file that does not exist',
    argv: [...SMOKE, '--replay-queries', '{{tmp}}/queries.ndjson'],
    expectExit: 1,
    mustMention: ['replayQueries is "{{tmp}}/queries.ndjson", which does not exist', 'SHIPGATE_SMOKE_REPLAY_QUERIES'],
  },
  {
    id: 'smoke-base-missing',
    what: '--base that is neither a folder nor a git ref',
    argv: ['migrate', 'smoke', '--base', '{{tmp}}/base', '--head', EXAMPLE_MIGRATIONS, '--database-url', DEAD_DB],
    expectExit: 1,
    mustMention: ['Base "{{tmp}}/base" is neither a migrations folder', 'SHIPGATE_SMOKE_BASE'],
  },
  {
    id: 'smoke-head-missing',
    what: '--head of a folder that does not exist',
    argv: ['migrate', 'smoke', '--base', EXAMPLE_MIGRATIONS, '--head', '{{tmp}}/head', '--database-url', DEAD_DB],
    expectExit: 1,
    mustMention: ['"{{tmp}}/head" does not exist', '--head'],
  },
  {
    id: 'smoke-schema-missing',
    what: '--schema of a file that does not exist',
    argv: [...SMOKE, '--schema', '{{tmp}}/schema.prisma'],
    expectExit: 1,
    mustMention: ['"{{tmp}}/schema.prisma" does not exist', '--schema'],
  },
  {
    id: 'smoke-database-url-http',
    what: '--database-url http://…',
    argv: [
      'migrate',
      'smoke',
      '--base',
      EXAMPLE_MIGRATIONS,
      '--head',
      EXAMPLE_MIGRATIONS,
      '--database-url',
      'http://pg:s3cr3t-smoke@db:5432/postgres',
    ],
    expectExit: 64,
    mustMention: ['--database-url "http://pg:***@db:5432/postgres" has protocol "http:"'],
  },
  {
    id: 'smoke-unreachable-server',
    what: 'the smoke against a server that is not there',
    argv: [...SMOKE, '--no-schema', '--no-squawk'],
    expectExit: 1,
    mustMention: ['"postgres://shipgate:***@127.0.0.1:1/postgres"', 'ECONNREFUSED', 'SHIPGATE_DATABASE_URL'],
  },
  {
    id: 'smoke-unknown-flag',
    what: 'a flag the smoke does not have',
    argv: [...SMOKE, '--dry-run'],
    expectExit: 64,
    mustMention: ["'--dry-run'"],
  },

  // shipgate generate / init
  {
    id: 'generate-two-schemas',
    what: 'generate with two schemas',
    argv: ['generate', 'a.prisma', 'b.prisma'],
    expectExit: 64,
    mustMention: ['expected one schema, got 2'],
  },
  {
    id: 'generate-schema-missing',
    what: 'generate with a schema that does not exist',
    argv: ['generate', '{{tmp}}/schema.prisma'],
    expectExit: 1,
    mustMention: ['schema.prisma" not found', 'prisma/schema.prisma'],
  },
  {
    id: 'generate-env-schema-missing',
    what: 'SHIPGATE_PRISMA_SCHEMA of a file that does not exist',
    argv: ['generate'],
    inScratch: true,
    env: { SHIPGATE_PRISMA_SCHEMA: '{{tmp}}/db/schema.prisma' },
    expectExit: 1,
    mustMention: ['SHIPGATE_PRISMA_SCHEMA is "{{tmp}}/db/schema.prisma"', 'does not exist'],
  },
  {
    id: 'generate-env-timeout-word',
    what: 'SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS=2min',
    argv: ['generate', 'example/prisma/schema.prisma'],
    env: { SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS: '2min' },
    expectExit: 64,
    mustMention: ['SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS is "2min"', 'milliseconds'],
  },
  {
    id: 'generate-unknown-flag',
    what: 'a flag generate does not have',
    argv: ['generate', '--watch'],
    expectExit: 64,
    mustMention: ["'--watch'"],
  },
  {
    id: 'init-no-package-json',
    what: 'init outside a project',
    argv: ['init', '--dry-run'],
    inScratch: true,
    expectExit: 1,
    mustMention: ['no package.json in {{tmp}}', 'npm init'],
  },
  {
    id: 'init-package-json-broken',
    what: 'init in a project whose package.json does not parse',
    argv: ['init', '--dry-run'],
    inScratch: true,
    files: { 'package.json': '{ "name": "app",\n' },
    expectExit: 1,
    mustMention: ['{{tmp}}/package.json is not valid JSON', 'fix it'],
  },
  {
    id: 'init-unknown-flag',
    what: 'a flag init does not have',
    argv: ['init', '--force'],
    expectExit: 64,
    mustMention: ["'--force'"],
  },

  // Config files (child Vitest runs)
  {
    id: 'config-typos',
    what: 'keys with typos in vitest.config.ts',
    vitest: { config: 'specs/fixtures-vitest/typo.config.ts' },
    expectExit: 1,
    mustMention: [
      'isolaton is an unknown key; did you mean isolation?',
      'postgres.tmpfs is "yes" (string); expected a boolean',
      'did you mean migrator.migrationsDir?',
    ],
  },
  {
    id: 'config-wrong-values',
    what: 'several wrong values at once',
    ...config({ isolation: 'nope', poolSize: 0, keepOnFailure: 'yes' }),
    expectExit: 1,
    mustMention: [
      '3 problems',
      'isolation is "nope"',
      'poolSize is 0; expected an integer from 1 to 100',
      'keepOnFailure is "yes"',
    ],
  },
  {
    id: 'config-postgres-not-object',
    what: "postgres: 'embedded' instead of an object",
    ...config({ postgres: 'embedded' }),
    expectExit: 1,
    mustMention: ['postgres is "embedded"', "{ provider: 'embedded' }"],
  },
  {
    id: 'config-provider-unknown',
    what: "postgres.provider: 'sqlite'",
    ...config({ postgres: { provider: 'sqlite' } }),
    expectExit: 1,
    mustMention: ['postgres.provider is "sqlite"', 'auto, testcontainers, embedded, external'],
  },
  {
    id: 'config-max-connections-low',
    what: 'postgres.maxConnections: 5',
    ...config({ postgres: { maxConnections: 5 } }),
    expectExit: 1,
    mustMention: ['postgres.maxConnections is 5', '≥ 10'],
  },
  {
    id: 'config-migrator-kind-unknown',
    what: "migrator.kind: 'flyway'",
    ...config({ migrator: { kind: 'flyway' } }),
    expectExit: 1,
    mustMention: ['migrator.kind is "flyway"', 'prisma-sql, prisma or function'],
  },
  {
    id: 'config-migrations-dir-missing',
    what: 'migrator.migrationsDir of a folder that does not exist',
    ...config({ migrator: { kind: 'prisma-sql', migrationsDir: 'no/such/migrations' } }),
    expectExit: 1,
    mustMention: ['no/such/migrations" does not exist', 'migrator.migrationsDir', 'SHIPGATE_MIGRATIONS_DIR'],
  },
  {
    id: 'config-seed-module-missing',
    what: 'seed naming a module that does not exist',
    ...config({ seed: './no-such-seed.ts#seed' }),
    expectExit: 1,
    mustMention: ['seed module "{{root}}/specs/fixtures-vitest/no-such-seed.ts" does not exist', 'config key seed'],
  },
  {
    id: 'config-app-module-missing',
    what: 'app naming a module that does not exist',
    ...config({ app: './src/app.ts#createApp' }),
    expectExit: 1,
    mustMention: ['app module "{{root}}/specs/fixtures-vitest/src/app.ts" does not exist', 'config key app'],
  },
  {
    id: 'config-function-migrator-missing',
    what: 'a function migrator whose module does not exist',
    ...config({ migrator: { kind: 'function', module: './migrator.ts#migrator' } }),
    expectExit: 1,
    mustMention: ['migrator.module "{{root}}/specs/fixtures-vitest/migrator.ts" does not exist'],
  },
  {
    id: 'config-prisma-export-missing',
    what: 'prisma naming an export the module does not have',
    ...config({ prisma: './module-refs.ts#createPrima' }),
    env: { SHIPGATE_DATABASE_URL: DEAD_DB },
    expectExit: 1,
    mustMention: ['has no export "createPrima"', 'createPrisma', 'config key prisma'],
  },
  {
    id: 'config-admin-url-http',
    what: 'postgres.adminUrl with an http:// URL',
    ...config({ postgres: { adminUrl: 'http://app:s3cr3t-config@db:5432/app' } }),
    expectExit: 1,
    mustMention: ['postgres.adminUrl "http://app:***@db:5432/app" has protocol "http:"'],
  },

  // SHIPGATE_* variables (child Vitest runs of a valid config)
  {
    id: 'env-provider-unknown',
    what: 'SHIPGATE_PROVIDER=foo',
    ...withEnv({ SHIPGATE_PROVIDER: 'foo' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_PROVIDER is "foo"', 'auto, testcontainers, embedded, external'],
  },
  {
    id: 'env-provider-typo',
    what: 'SHIPGATE_PROVIDER=embeded',
    ...withEnv({ SHIPGATE_PROVIDER: 'embeded' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_PROVIDER is "embeded"', 'did you mean embedded?'],
  },
  {
    id: 'env-isolation-unknown',
    what: 'SHIPGATE_ISOLATION=foo',
    ...withEnv({ SHIPGATE_ISOLATION: 'foo' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_ISOLATION is "foo"', 'file, test, rollback'],
  },
  {
    id: 'env-database-url-not-url',
    what: 'SHIPGATE_DATABASE_URL=not-a-url',
    ...withEnv({ SHIPGATE_DATABASE_URL: 'not-a-url' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_DATABASE_URL is not a URL: "not-a-url"', 'postgres://'],
  },
  {
    id: 'env-database-url-http',
    what: 'SHIPGATE_DATABASE_URL=http://…',
    ...withEnv({ SHIPGATE_DATABASE_URL: 'http://app:s3cr3t-env@db:5432/app' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_DATABASE_URL "http://app:***@db:5432/app" has protocol "http:"'],
  },
  {
    id: 'env-database-url-bad-port',
    what: 'SHIPGATE_DATABASE_URL with a port that is not a number',
    ...withEnv({ SHIPGATE_DATABASE_URL: 'postgres://app:s3cr3t-port@db:fivefourthreetwo/app' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_DATABASE_URL is not a URL', 'db:fivefourthreetwo'],
  },
  {
    id: 'env-database-unreachable',
    what: 'SHIPGATE_DATABASE_URL of a server that is not there',
    ...withEnv({ SHIPGATE_DATABASE_URL: DEAD_DB }),
    expectExit: 1,
    mustMention: ['"postgres://shipgate:***@127.0.0.1:1/postgres"', 'ECONNREFUSED', 'SHIPGATE_DATABASE_URL'],
  },
  {
    id: 'env-max-connections-word',
    what: 'SHIPGATE_PG_MAX_CONNECTIONS=abc',
    ...withEnv({ SHIPGATE_PG_MAX_CONNECTIONS: 'abc' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_PG_MAX_CONNECTIONS is "abc"', '10 to 10000'],
  },
  {
    id: 'env-max-connections-low',
    what: 'SHIPGATE_PG_MAX_CONNECTIONS=3',
    ...withEnv({ SHIPGATE_PG_MAX_CONNECTIONS: '3' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_PG_MAX_CONNECTIONS is "3"'],
  },
  {
    id: 'env-db-prefix-bad',
    what: 'SHIPGATE_DB_PREFIX=Bad-Prefix',
    ...withEnv({ SHIPGATE_DB_PREFIX: 'Bad-Prefix' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_DB_PREFIX is "Bad-Prefix"', '[a-z][a-z0-9]{0,15}'],
  },
  {
    id: 'env-migrator-unknown',
    what: 'SHIPGATE_MIGRATOR=flyway',
    ...withEnv({ SHIPGATE_MIGRATOR: 'flyway' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_MIGRATOR is "flyway"', 'prisma-sql or prisma'],
  },
  {
    id: 'env-migrations-dir-missing',
    what: 'SHIPGATE_MIGRATIONS_DIR of a folder that does not exist',
    ...withEnv({ SHIPGATE_MIGRATIONS_DIR: '{{tmp}}/migrations' }),
    expectExit: 1,
    mustMention: ['"{{tmp}}/migrations" does not exist', 'SHIPGATE_MIGRATIONS_DIR'],
  },
  {
    id: 'env-keep-on-failure-word',
    what: 'SHIPGATE_KEEP_ON_FAILURE=maybe',
    ...withEnv({ SHIPGATE_KEEP_ON_FAILURE: 'maybe' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_KEEP_ON_FAILURE is "maybe"', '1 or 0'],
  },
  {
    id: 'env-keep-templates-negative',
    what: 'SHIPGATE_KEEP_TEMPLATES=-1',
    ...withEnv({ SHIPGATE_KEEP_TEMPLATES: '-1' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_KEEP_TEMPLATES is "-1"'],
  },
  {
    id: 'env-pg-timeout-words',
    what: 'SHIPGATE_PG_TIMEOUT_MS=30s',
    ...withEnv({ SHIPGATE_PG_TIMEOUT_MS: '30s' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_PG_TIMEOUT_MS is "30s"'],
  },
  {
    id: 'env-sweep-kept-negative',
    what: 'SHIPGATE_SWEEP_KEPT_AFTER_HOURS=-5',
    ...withEnv({ SHIPGATE_SWEEP_KEPT_AFTER_HOURS: '-5' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_SWEEP_KEPT_AFTER_HOURS is "-5"'],
  },
  {
    id: 'env-embedded-dir-missing',
    what: 'SHIPGATE_EMBEDDED_DIR of a folder that does not exist',
    ...withEnv({ SHIPGATE_EMBEDDED_DIR: '{{tmp}}/pg' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_EMBEDDED_DIR "{{tmp}}/pg" is not a directory'],
  },
  {
    id: 'env-embedded-sweep-word',
    what: 'SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES=soon',
    ...withEnv({ SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES: 'soon' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES is "soon"'],
  },
  {
    id: 'env-shard-out-of-range',
    what: 'SHIPGATE_SHARD=3/2',
    ...withEnv({ SHIPGATE_SHARD: '3/2' }),
    expectExit: 1,
    mustMention: ['SHIPGATE_SHARD is "3/2"', 'i/n'],
  },
  {
    id: 'env-several-at-once',
    what: 'three bad variables at once: all are named',
    ...withEnv({ SHIPGATE_ISOLATION: 'files', SHIPGATE_PROVIDER: 'docker', SHIPGATE_DB_PREFIX: 'my_app' }),
    expectExit: 1,
    mustMention: ['3 problems', 'SHIPGATE_ISOLATION is "files"', 'SHIPGATE_PROVIDER is "docker"', 'SHIPGATE_DB_PREFIX'],
  },
];

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const STACK_FRAME = /\n\s+at .+:\d+:\d+/;
const RAW_JS_ERROR = /\b(SyntaxError|TypeError|ReferenceError|RangeError)\b/;
const SECRET = 's3cr3t';

/** Replaces `{{tmp}}` and `{{root}}`. */
function fill(text: string, tmp: string): string {
  return text.replaceAll('{{tmp}}', tmp).replaceAll('{{root}}', root);
}

/** The environment of a run: the parent's without any SHIPGATE_* or DATABASE_URL, a scratch report dir. */
function baseEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SHIPGATE_') && k !== 'DATABASE_URL' && k !== 'DEBUG') env[k] = v;
  }
  return {
    ...env,
    CI: 'true',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    SHIPGATE_REPORT_DIR: path.join(tmp, 'report'),
    SHIPGATE_REAPER: '0',
  };
}

/** Whether `output` and `exit` are a clear error for `b` (see the header), and why not. */
export function judge(b: BadInput, exit: number, output: string, tmp: string): BadInputResult {
  const why: string[] = [];
  if (exit === 0) why.push('exit 0');
  else if (exit !== b.expectExit) why.push(`exit ${exit}, expected ${b.expectExit}`);
  for (const m of b.mustMention.map((t) => fill(t, tmp))) {
    if (!output.includes(m)) why.push(`does not mention ${JSON.stringify(m)}`);
  }
  if (STACK_FRAME.test(output)) why.push('prints stack frames');
  if (output.includes('[object Object]')) why.push('prints [object Object]');
  const raw = RAW_JS_ERROR.exec(output);
  if (raw) why.push(`prints a raw ${raw[1]}`);
  if (output.includes(SECRET)) why.push('prints a secret');
  return { clear: why.length === 0, exit, output, ...(why.length ? { why: why.join('; ') } : {}) };
}

/** Runs one bad input in a scratch dir (removed after) and judges its output. */
export async function runBadInput(b: BadInput, options: { timeoutMs?: number } = {}): Promise<BadInputResult> {
  const tmp = mkdtempSync(path.join(tmpdir(), `shipgate-bad-${b.id}-`));
  try {
    for (const [rel, content] of Object.entries(b.files ?? {})) {
      const file = path.join(tmp, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? fill(content, tmp) : content);
    }
    const env = {
      ...baseEnv(tmp),
      ...Object.fromEntries(Object.entries(b.env ?? {}).map(([k, v]) => [k, fill(v, tmp)])),
    };
    let cmd: string;
    let args: string[];
    if (b.vitest) {
      cmd = VITEST;
      args = ['run', '--config', b.vitest.config ?? BAD_INPUT_CONFIG];
      if (b.vitest.options) env.BAD_INPUT_OPTIONS = fill(JSON.stringify(b.vitest.options), tmp);
    } else {
      cmd = process.execPath;
      args = [CLI, ...(b.argv ?? []).map((a) => fill(a, tmp))];
    }
    const { exit, output } = await spawnCaptured(cmd, args, b.inScratch ? tmp : root, env, options.timeoutMs ?? 90_000);
    if (exit === undefined) return { clear: false, exit: -1, output, why: 'timed out' };
    return judge(b, exit, output, tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs `list` with at most `concurrency` children at a time; results in the same order. */
export async function runBadInputs(
  list: readonly BadInput[] = BAD_INPUTS,
  options: { concurrency?: number } = {},
): Promise<BadInputResult[]> {
  const results: BadInputResult[] = new Array(list.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < list.length; i = next++) results[i] = await runBadInput(list[i] as BadInput);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  return results;
}

function spawnCaptured(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ exit: number | undefined; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const clean = output.replace(ANSI, '');
      resolve({ exit: timedOut ? undefined : (code ?? (signal ? 128 : 1)), output: clean });
    });
  });
}
