import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { redactUrl, ShipgateError } from '../../core/errors.ts';
import { envValue } from '../../core/settings.ts';
import { wantsHelp } from '../run.ts';

/** `shipgate migrate deploy|smoke …`. */
export const summary =
  'migrate deploy: apply Prisma migrations (engine-free prisma-sql); migrate smoke: prove new migrations on a seeded throwaway Postgres';

const USAGE = `usage: shipgate migrate deploy [--dir prisma/migrations] [--url postgres://…]
       shipgate migrate smoke --base <dir|git ref> [--head prisma/migrations] [options]

smoke options (env var in brackets):
  --base <dir|ref>          base migrations: a folder, or a git ref read without checkout [SHIPGATE_SMOKE_BASE]
  --head <dir>              head migrations folder (default prisma/migrations) [SHIPGATE_MIGRATIONS_DIR]
  --migrations-path <path>  the migrations folder inside the repo, for a git base (default: head's path)
  --schema <file>           schema.prisma for the drift check (default: beside --head); --no-schema skips it
  --migrator <kind>         prisma-sql (default) or prisma [SHIPGATE_MIGRATOR]
  --database-url <url>      superuser URL of a server to use (default: start one) [SHIPGATE_DATABASE_URL]
  --timezone, --lock-timeout, --statement-timeout
                            session settings like production's (UTC, 5s, 60s) [SHIPGATE_SMOKE_TIMEZONE, …]
  --rows <small|large|N>    rows per generated table (small = 200, large = 100000) [SHIPGATE_SMOKE_ROWS]
  --rows-for <table=N>      rows for one table (repeatable)
  --seed <path#export>      your seed function (url) => Promise<void> instead of generated rows
  --fail-on <pattern>       WARN findings that fail the run, e.g. lint/* (repeatable) [SHIPGATE_SMOKE_FAIL_ON]
  --allow <pattern>         UNSAFE findings you accept, e.g. data/column-dropped:users.legacy (repeatable) [SHIPGATE_SMOKE_ALLOW]
  --severity <code=LEVEL>   class of matching findings (FAIL, UNSAFE, WARN, INFO, SAFE), applied before --allow
                            and --fail-on, e.g. locks/*=WARN (repeatable, comma list) [SHIPGATE_SMOKE_SEVERITY]
  --lock-budget-ms <n>      write-blocking lock hold that is UNSAFE (default 1000) [SHIPGATE_SMOKE_LOCK_BUDGET_MS]
  --production-rows <table=N>
                            production rows of a table, to extrapolate scans, index builds and rewrites
                            under a write-blocking lock (repeatable, comma list) [SHIPGATE_SMOKE_PRODUCTION_ROWS]
  --production-stats <file> production stats snapshot, JSON {"table": {"rows": N, "bytes": N}}, from
                            psql -Atc "select json_object_agg(c.oid::regclass, json_build_object('rows', c.reltuples,
                            'bytes', pg_total_relation_size(c.oid))) from pg_class c where c.relkind='r'
                            and c.relnamespace='public'::regnamespace" > stats.json [SHIPGATE_SMOKE_PRODUCTION_STATS]
  --probes                  concurrent read/write probes on touched tables [SHIPGATE_SMOKE_PROBES]
  --pg-dump <auto|path>     pg_dump of the server's major (default auto) [SHIPGATE_PG_DUMP]
  --restore-target <same|server|url>
                            where the restore rehearsals restore: a new database on the smoke's server (same,
                            default), a second fresh server (server), or a server set up like production (its
                            superuser URL) [SHIPGATE_SMOKE_RESTORE_TARGET]
  --restore-roles <a,b>     production's cluster roles (created on the smoke's servers; FAIL when a migration
                            needs one the target lacks) [SHIPGATE_SMOKE_RESTORE_ROLES]
  --restore-extensions <a,b>
                            extensions production can install [SHIPGATE_SMOKE_RESTORE_EXTENSIONS]
  --replay-queries <file>   statements the base branch's tests recorded (.sql, .json, .ndjson), replayed on the
                            migrated database with the Prisma-shaped ones [SHIPGATE_SMOKE_REPLAY_QUERIES]
  --no-replay               skip replaying the base's queries [SHIPGATE_SMOKE_REPLAY=0]
  --no-squawk               skip the static lint
  --json <file>             where the JSON goes (default <report dir>/migration-smoke.json) [SHIPGATE_REPORT_DIR]
  --no-records              do not write unified-report records
exit: 0 SAFE or WARN, 2 UNSAFE or FAIL (or a --fail-on match), 1 error, 64 usage
`;

export default async function migrate(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub === 'deploy') return deploy(rest);
  if (sub === 'smoke') return smoke(rest);
  process.stderr.write(USAGE);
  return 64;
}

/** Why `url` is not a Postgres URL (with its password as `***`), or undefined. */
function postgresUrlProblem(url: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return `is not a URL: "${redactUrl(url)}"`;
  }
  return protocol === 'postgres:' || protocol === 'postgresql:'
    ? undefined
    : `"${redactUrl(url)}" has protocol "${protocol}"`;
}

async function deploy(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { dir: { type: 'string' }, url: { type: 'string' } } });
  const url = values.url ?? process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('shipgate migrate deploy: no database URL. Pass --url or set DATABASE_URL.\n');
    return 64;
  }
  const urlProblem = postgresUrlProblem(url);
  if (urlProblem) {
    process.stderr.write(
      `shipgate migrate deploy: ${values.url !== undefined ? '--url' : 'DATABASE_URL'} ${urlProblem}; expected postgres://user:password@host:5432/db. Pass --url or set DATABASE_URL.\n`,
    );
    return 64;
  }
  const dir = path.resolve(values.dir ?? envValue('SHIPGATE_MIGRATIONS_DIR') ?? 'prisma/migrations');
  if (!existsSync(dir)) {
    const source =
      values.dir !== undefined
        ? '--dir'
        : envValue('SHIPGATE_MIGRATIONS_DIR')
          ? 'SHIPGATE_MIGRATIONS_DIR'
          : 'the default';
    process.stderr.write(
      `shipgate migrate deploy: migrations folder "${dir}" (from ${source}) does not exist. Pass --dir <folder> or set SHIPGATE_MIGRATIONS_DIR.\n`,
    );
    return 64;
  }
  const { createMigrator } = await import('../../migrate/index.ts');
  const migrator = createMigrator({ kind: 'prisma-sql', migrationsDir: dir });
  const result = await migrator.migrate(url);
  process.stdout.write(
    `shipgate: applied ${result.applied.length} migration(s) in ${(result.durationUs / 1000).toFixed(1)} ms\n`,
  );
  return 0;
}

const SMOKE_OPTIONS = {
  base: { type: 'string' },
  head: { type: 'string' },
  'migrations-path': { type: 'string' },
  schema: { type: 'string' },
  'no-schema': { type: 'boolean' },
  migrator: { type: 'string' },
  'database-url': { type: 'string' },
  timezone: { type: 'string' },
  'lock-timeout': { type: 'string' },
  'statement-timeout': { type: 'string' },
  rows: { type: 'string' },
  'rows-for': { type: 'string', multiple: true },
  seed: { type: 'string' },
  'fail-on': { type: 'string', multiple: true },
  allow: { type: 'string', multiple: true },
  severity: { type: 'string', multiple: true },
  'lock-budget-ms': { type: 'string' },
  'production-rows': { type: 'string', multiple: true },
  'production-stats': { type: 'string' },
  probes: { type: 'boolean' },
  'pg-dump': { type: 'string' },
  'restore-target': { type: 'string' },
  'restore-roles': { type: 'string', multiple: true },
  'restore-extensions': { type: 'string', multiple: true },
  'replay-queries': { type: 'string' },
  'no-replay': { type: 'boolean' },
  'no-squawk': { type: 'boolean' },
  json: { type: 'string' },
  'no-records': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--flag a,b --flag c` as ['a', 'b', 'c']. */
const commaList = (values: string[]) =>
  values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

const parseSmoke = (argv: string[]) => parseArgs({ args: argv, options: SMOKE_OPTIONS });

async function smoke(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseSmoke>['values'];
  try {
    ({ values } = parseSmoke(argv));
  } catch (err) {
    process.stderr.write(`shipgate migrate smoke: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const lockBudget = values['lock-budget-ms'];
  if (lockBudget !== undefined && !/^\d+(\.\d+)?$/.test(lockBudget)) {
    process.stderr.write(
      `shipgate migrate smoke: --lock-budget-ms is "${lockBudget}"; expected milliseconds >= 0, e.g. 1000\n`,
    );
    return 64;
  }
  // Flag values are named by their flag here; the smoke's own checks name its option keys.
  const flagProblems: string[] = [];
  for (const flag of ['timezone', 'lock-timeout', 'statement-timeout'] as const) {
    const v = values[flag];
    if (v !== undefined && !/^[A-Za-z0-9_+\-/:.]+$/.test(v)) {
      flagProblems.push(`--${flag} is "${v}"; expected a Postgres setting value without spaces, e.g. UTC, 5s, 60s`);
    }
  }
  if (values.migrator !== undefined && values.migrator !== 'prisma-sql' && values.migrator !== 'prisma') {
    flagProblems.push(`--migrator is "${values.migrator}"; expected prisma-sql or prisma`);
  }
  const { parseSeverity } = await import('../../smoke/options.ts');
  const severityEnv = envValue('SHIPGATE_SMOKE_SEVERITY');
  if (values.severity) flagProblems.push(...parseSeverity(values.severity, '--severity').problems);
  else if (severityEnv) flagProblems.push(...parseSeverity([severityEnv], 'SHIPGATE_SMOKE_SEVERITY').problems);
  const { parseProductionRows, readProductionStats } = await import('../../smoke/production-size.ts');
  const productionRows: Record<string, number> = {};
  if (values['production-rows']) {
    const parsed = parseProductionRows(values['production-rows'], '--production-rows');
    flagProblems.push(...parsed.problems);
    for (const [table, size] of Object.entries(parsed.sizes)) productionRows[table] = size.rows as number;
  }
  if (values['production-stats'] !== undefined)
    flagProblems.push(
      ...readProductionStats(path.resolve(values['production-stats']), '--production-stats', values['production-stats'])
        .problems,
    );
  if (flagProblems.length) {
    process.stderr.write(`shipgate migrate smoke: ${flagProblems.join('; ')}\n`);
    return 64;
  }
  if (values['database-url'] !== undefined) {
    const problem = postgresUrlProblem(values['database-url']);
    if (problem) {
      process.stderr.write(
        `shipgate migrate smoke: --database-url ${problem}; expected postgres://user:password@host:5432/postgres\n`,
      );
      return 64;
    }
  }
  const rowsPerTable: Record<string, number> = {};
  for (const spec of values['rows-for'] ?? []) {
    const m = /^(.+)=(\d+)$/.exec(spec);
    if (!m) {
      process.stderr.write(`shipgate migrate smoke: --rows-for "${spec}" is not table=N\n`);
      return 64;
    }
    rowsPerTable[m[1] as string] = Number(m[2]);
  }
  const { migrationSmoke, renderSmokeSummary, smokeRecords } = await import('../../smoke/index.ts');
  const { reportDir, writeRecords } = await import('../../report/records.ts');
  const settings: { timeZone?: string; lockTimeout?: string; statementTimeout?: string } = {};
  if (values.timezone) settings.timeZone = values.timezone;
  if (values['lock-timeout']) settings.lockTimeout = values['lock-timeout'];
  if (values['statement-timeout']) settings.statementTimeout = values['statement-timeout'];
  let result: Awaited<ReturnType<typeof migrationSmoke>>;
  try {
    result = await migrationSmoke({
      ...(values.base ? { base: values.base } : {}),
      ...(values.head ? { head: values.head } : {}),
      ...(values['migrations-path'] ? { migrationsPath: values['migrations-path'] } : {}),
      ...(values['no-schema'] ? { schema: false as const } : values.schema ? { schema: values.schema } : {}),
      ...(values.migrator ? { migrator: values.migrator as 'prisma-sql' | 'prisma' } : {}),
      ...(values['database-url'] ? { adminUrl: values['database-url'] } : {}),
      settings,
      ...(values.rows ? { rows: /^\d+$/.test(values.rows) ? Number(values.rows) : (values.rows as 'small') } : {}),
      rowsPerTable,
      ...(values.seed ? { seed: values.seed } : {}),
      ...(values['fail-on'] ? { failOn: values['fail-on'] } : {}),
      ...(values.allow ? { allow: values.allow } : {}),
      ...(values.severity ? { severity: values.severity } : {}),
      ...(values['lock-budget-ms'] ? { lockBudgetMs: Number(values['lock-budget-ms']) } : {}),
      ...(values['production-rows'] ? { productionRows } : {}),
      ...(values['production-stats'] !== undefined ? { productionStats: values['production-stats'] } : {}),
      ...(values.probes ? { probes: true } : {}),
      ...(values['pg-dump'] ? { pgDump: values['pg-dump'] } : {}),
      ...(values['restore-target'] ? { restoreTarget: values['restore-target'] } : {}),
      ...(values['restore-roles'] ? { restoreRoles: commaList(values['restore-roles']) } : {}),
      ...(values['restore-extensions'] ? { restoreExtensions: commaList(values['restore-extensions']) } : {}),
      ...(values['replay-queries'] ? { replayQueries: values['replay-queries'] } : {}),
      ...(values['no-replay'] ? { replay: false } : {}),
      ...(values['no-squawk'] ? { squawk: false as const } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
      progress: true,
    });
  } catch (err) {
    if (!(err instanceof ShipgateError)) throw err;
    process.stderr.write(`shipgate migrate smoke: ${err.name} [${err.code}]: ${err.message}\n`);
    return 1;
  }
  const jsonFile = path.resolve(values.json ?? path.join(reportDir(), 'migration-smoke.json'));
  mkdirSync(path.dirname(jsonFile), { recursive: true });
  writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  if (!values['no-records']) {
    const { hashMigrations, readMigrationsFolder } = await import('../../migrate/migrations-dir.ts');
    const headDir = path.resolve(values.head ?? envValue('SHIPGATE_MIGRATIONS_DIR') ?? 'prisma/migrations');
    writeRecords('migrate-smoke', smokeRecords(result), {
      schemaVersion: hashMigrations('prisma-sql', {}, readMigrationsFolder(headDir)),
      startedAt: result.startedAt,
    });
  }
  process.stdout.write(renderSmokeSummary(result));
  process.stdout.write(`shipgate: migration smoke JSON in ${path.relative(process.cwd(), jsonFile) || jsonFile}\n`);
  return result.exitCode;
}
