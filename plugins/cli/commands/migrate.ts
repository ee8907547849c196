import path from 'node:path';
import { parseArgs } from 'node:util';

/** `shipgate migrate deploy [--dir prisma/migrations] [--url $DATABASE_URL]`. */
export const summary = 'migrate deploy: apply Prisma migrations with the engine-free prisma-sql migrator';

export default async function migrate(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { dir: { type: 'string' }, url: { type: 'string' } },
  });
  if (positionals[0] !== 'deploy') {
    process.stderr.write('usage: shipgate migrate deploy [--dir prisma/migrations] [--url postgres://…]\n');
    return 64;
  }
  const url = values.url ?? process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('shipgate migrate deploy: no database URL. Pass --url or set DATABASE_URL.\n');
    return 64;
  }
  const { createMigrator } = await import('../../migrate/index.ts');
  const migrator = createMigrator({
    kind: 'prisma-sql',
    migrationsDir: path.resolve(values.dir ?? process.env.SHIPGATE_MIGRATIONS_DIR ?? 'prisma/migrations'),
  });
  const result = await migrator.migrate(url);
  process.stdout.write(
    `shipgate: applied ${result.applied.length} migration(s) in ${(result.durationUs / 1000).toFixed(1)} ms\n`,
  );
  return 0;
}
