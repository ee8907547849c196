/**
 * Every `SHIPGATE_*` environment variable, in one registry, and the only code that reads them.
 * One precedence for every setting that has more than one source:
 *
 *     command-line flag  >  environment variable  >  config key  >  default
 *
 * A flag is typed for one invocation, so it wins; an env var is set for one run or one CI job,
 * so it overrides the config file checked into the repo; the default comes last. An empty
 * variable counts as unset (`SHIPGATE_DATABASE_URL=` turns it off). Modules read a variable
 * with {@link envValue} (or {@link pick} where a flag or a config key competes), never
 * `process.env.SHIPGATE_…`: specs/settings.test.ts checks that, and that every variable here
 * is in the README's table.
 */

export interface SettingSpec {
  /** The config key, CLI flag or option that the variable stands in for, if any. */
  key?: string;
  /** The default, as documented. */
  default?: string;
  /** What it does. */
  what: string;
}

export const SETTINGS = {
  SHIPGATE_PROVIDER: { key: 'postgres.provider', default: 'auto', what: 'auto, testcontainers, embedded or external' },
  SHIPGATE_DATABASE_URL: { key: 'postgres.adminUrl', what: 'admin URL of an existing server' },
  SHIPGATE_PG_IMAGE: { key: 'postgres.image', default: 'postgres:17-alpine', what: 'image for testcontainers' },
  SHIPGATE_PG_MAX_CONNECTIONS: {
    key: 'postgres.maxConnections',
    default: '200',
    what: 'max_connections of servers shipgate starts',
  },
  SHIPGATE_PG_VERSION: { key: 'postgres.version', what: 'embedded Postgres version' },
  SHIPGATE_PG_TIMEOUT_MS: {
    default: '10000',
    what: 'limit on connecting to Postgres and on each admin statement (CREATE/DROP DATABASE: 6×)',
  },
  SHIPGATE_EMBEDDED_DIR: {
    key: 'postgres.embeddedDir',
    default: '/dev/shm, else the OS temp dir',
    what: 'parent of embedded data dirs',
  },
  SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES: {
    default: '10',
    what: "age after which a dead run's embedded data dir is swept",
  },
  SHIPGATE_EMBEDDED_INITDB_CACHE: {
    default: 'on',
    what: 'copy a cached pristine cluster instead of running initdb (0 turns it off; an absolute path moves it)',
  },
  SHIPGATE_DB_PREFIX: {
    key: 'postgres.prefix',
    default: 'shipgate',
    what: 'prefix of every database shipgate creates or drops',
  },
  SHIPGATE_MIGRATOR: { key: 'migrator.kind', default: 'prisma-sql', what: 'prisma-sql, prisma or function' },
  SHIPGATE_MIGRATIONS_DIR: {
    key: 'migrator.migrationsDir, --dir, --head',
    default: 'prisma/migrations',
    what: 'Prisma migrations folder',
  },
  SHIPGATE_ISOLATION: { key: 'isolation', default: 'file', what: 'file, test or rollback' },
  SHIPGATE_KEEP_ON_FAILURE: { key: 'keepOnFailure', default: 'off', what: "keep a failed test's database" },
  SHIPGATE_QUERY_CAPTURE: {
    key: 'queries.capture',
    default: 'on',
    what: "read every statement sent to a test's database on the wire (the query matchers and check need it)",
  },
  SHIPGATE_QUERY_CHECK: {
    key: 'queries.check',
    default: 'ci (on when CI is set and capture is on)',
    what: 'fail a test whose `request` calls repeat a query shape (N+1): on, off or ci',
  },
  SHIPGATE_SWEEP_KEPT_AFTER_HOURS: {
    default: '24',
    what: "age after which a dead run's kept databases are swept",
  },
  SHIPGATE_KEEP_TEMPLATES: { default: '3', what: 'templates kept per prefix' },
  SHIPGATE_REAPER: { default: 'on', what: '0 disables the detached reaper' },
  SHIPGATE_REPORT_DIR: { default: '.shipgate/report', what: 'where runners write results' },
  SHIPGATE_RUN_ID: { default: 'set by shipgate test', what: 'one report run' },
  SHIPGATE_PHASES: { default: 'unit,budgets,e2e', what: 'phases shipgate test runs' },
  SHIPGATE_REPORT_SINKS: { key: 'shipgate report --sinks', what: 'report sinks' },
  SHIPGATE_EXIT_POLICY: { key: 'shipgate report --policy', what: 'exit-code policy' },
  SHIPGATE_SHARD: { what: "this process's CI shard, i/n" },
  SHIPGATE_REPORT_URL: { what: 'link to the full report in summary.md and alerts' },
  SHIPGATE_WEBHOOK_URL: { what: 'Slack-compatible alert webhook' },
  SHIPGATE_ALERT_ON: { default: 'failure', what: 'when the alert is sent' },
  SHIPGATE_PRISMA_SCHEMA: { key: 'shipgate generate [schema]', what: "the project's Prisma schema" },
  SHIPGATE_PRISMA_GENERATE_FORCE: {
    key: 'shipgate generate --force',
    default: 'off',
    what: 'regenerate even when up to date',
  },
  SHIPGATE_PRISMA_GENERATE_TIMEOUT_MS: { default: '120000', what: 'limit of prisma generate' },
  SHIPGATE_SMOKE_BASE: { key: 'migrate smoke --base', what: 'base migrations (folder or git ref)' },
  SHIPGATE_SMOKE_TIMEZONE: { key: '--timezone', default: 'UTC', what: 'smoke session time zone' },
  SHIPGATE_SMOKE_LOCK_TIMEOUT: { key: '--lock-timeout', default: '5s', what: 'smoke lock_timeout' },
  SHIPGATE_SMOKE_STATEMENT_TIMEOUT: { key: '--statement-timeout', default: '60s', what: 'smoke statement_timeout' },
  SHIPGATE_SMOKE_ROWS: { key: '--rows', default: 'small', what: 'seed volume per table' },
  SHIPGATE_SMOKE_FAIL_ON: { key: '--fail-on', what: 'WARN patterns that fail' },
  SHIPGATE_SMOKE_ALLOW: { key: '--allow', what: 'UNSAFE patterns accepted' },
  SHIPGATE_SMOKE_SEVERITY: { key: '--severity', what: 'pattern=LEVEL overrides of the verdict scale' },
  SHIPGATE_SMOKE_PRODUCTION_ROWS: {
    key: '--production-rows',
    what: 'production rows per table (table=N, comma-separated) to extrapolate locks',
  },
  SHIPGATE_SMOKE_PRODUCTION_STATS: {
    key: '--production-stats',
    what: 'production stats snapshot (JSON) to extrapolate locks',
  },
  SHIPGATE_SMOKE_LOCK_BUDGET_MS: {
    key: '--lock-budget-ms',
    default: '1000',
    what: 'write-blocking hold that is UNSAFE',
  },
  SHIPGATE_SMOKE_PROBES: { key: '--probes', default: 'off', what: 'concurrent probes' },
  SHIPGATE_SMOKE_REPLAY: {
    key: '--no-replay',
    default: 'on',
    what: "replay the base's queries on the migrated database",
  },
  SHIPGATE_SMOKE_REPLAY_QUERIES: {
    key: '--replay-queries',
    what: "statements the base branch's tests recorded (.sql, .json, .ndjson), replayed too",
  },
  SHIPGATE_SMOKE_RESTORE_TARGET: {
    key: '--restore-target',
    default: 'same',
    what: 'where restores go: same, server (a second fresh server) or a superuser URL',
  },
  SHIPGATE_SMOKE_RESTORE_ROLES: { key: '--restore-roles', what: "production's cluster roles, comma-separated" },
  SHIPGATE_SMOKE_RESTORE_EXTENSIONS: {
    key: '--restore-extensions',
    what: 'extensions production can install, comma-separated',
  },
  SHIPGATE_PG_DUMP: { key: '--pg-dump', default: 'auto', what: 'pg_dump to use' },
  SHIPGATE_BUDGET_PROFILE: { key: 'measure(…, { profile }), --profile', default: 'normal', what: 'budget profile' },
  SHIPGATE_BUDGET_ROUNDS: { key: '{ rounds }, --rounds', default: '1 (5 with a base)', what: 'budget rounds' },
  SHIPGATE_BUDGET_THREADS: {
    key: '{ threads }',
    default: 'auto (half the cores, 1–4)',
    what: 'load-generator threads for burst and open loops',
  },
  SHIPGATE_BUDGET_BASE_URL: { key: '{ base }, --base-url', what: 'the base build for interleaved A/B' },
  SHIPGATE_BASELINE_DIR: { key: '{ baselineDir }, --baseline-dir', default: 'perf/baselines', what: 'baseline store' },
  SHIPGATE_BASELINE_UPDATE: {
    key: '{ updateBaseline }, --update-baseline',
    default: 'off',
    what: 'add this run to the baselines',
  },
  SHIPGATE_BASELINE_COMMIT: { default: 'newest other commit', what: 'baseline entry compared with' },
  SHIPGATE_BASELINE_KEEP: { default: '20', what: 'baseline entries kept' },
  SHIPGATE_METRICS_URL: { key: 'shipgate budget --metrics-url', what: "the app's /metrics" },
  SHIPGATE_SLOS: { key: '--slos', what: 'SLO modules for shipgate budget and k6' },
  SHIPGATE_BUDGET_URL: { key: '--url', what: 'target of shipgate budget and k6' },
  SHIPGATE_K6_SUMMARY: { what: "where a generated k6 script's handleSummary writes (read by k6, not by Node)" },
  SHIPGATE_CHROMIUM: { key: 'use.launchOptions.executablePath', what: 'Chromium for E2E and the HTML check' },
  SHIPGATE_APP_READY_TIMEOUT_MS: {
    key: 'use.app.readyTimeoutMs',
    default: '30000',
    what: 'app server start limit per worker',
  },
  SHIPGATE_PLAYWRIGHT_RUNTIME: { what: "internal: the session Playwright's globalSetup hands its workers" },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

/** The value of `name` in `env`: undefined when unset or empty. */
export function envValue(name: SettingName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** True for `1`, `true`, `yes`, `on` (any case). */
export function envFlag(name: SettingName, env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|on)$/i.test(envValue(name, env) ?? '');
}

/**
 * One setting from its sources, by the one precedence: `flag`, then the env var, then
 * `config`, then `fallback`. `parse` turns the env var's text into the value.
 */
export function pick<T>(
  name: SettingName,
  sources: { flag?: T | undefined; config?: T | undefined; fallback: T; parse: (text: string) => T },
  env: NodeJS.ProcessEnv = process.env,
): T {
  if (sources.flag !== undefined) return sources.flag;
  const text = envValue(name, env);
  if (text !== undefined) return sources.parse(text);
  return sources.config !== undefined ? sources.config : sources.fallback;
}
