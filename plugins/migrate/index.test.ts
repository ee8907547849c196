import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { createMigrator, type PrismaSqlMigrator } from './index.ts';

const BASIC = path.join(import.meta.dirname, '__fixtures__', 'basic');

describe('createMigrator', () => {
  test('defaults to prisma-sql, with SHIPGATE_MIGRATIONS_DIR or prisma/migrations', () => {
    const fromEnv = createMigrator({}, { SHIPGATE_MIGRATIONS_DIR: BASIC }) as PrismaSqlMigrator;
    expect(fromEnv.name).toBe('prisma-sql');
    expect(fromEnv.migrationsDir).toBe(BASIC);
    const byDefault = createMigrator({}, {}) as PrismaSqlMigrator;
    expect(byDefault.migrationsDir).toBe(path.resolve('prisma/migrations'));
  });

  test('builds each kind; the config shape of plugins/core/config.ts is accepted as is', async () => {
    expect(createMigrator({ kind: 'prisma-sql', migrationsDir: BASIC }, {}).name).toBe('prisma-sql');
    const prisma = createMigrator(
      { kind: 'prisma', schema: 'prisma/schema.prisma', config: 'prisma.config.ts', migrationsDir: BASIC },
      {},
    );
    expect(prisma.name).toBe('prisma');
    expect(await prisma.hash()).toMatch(/^[0-9a-f]{64}$/);
    const fn = createMigrator({ kind: 'function', hash: 'v1', migrate: async () => {} }, {});
    expect(fn.name).toBe('function');
  });

  test('SHIPGATE_MIGRATOR overrides the kind; the schema path carries over', () => {
    const m = createMigrator(
      { kind: 'prisma', schema: path.join(BASIC, 'schema.prisma') },
      { SHIPGATE_MIGRATOR: 'prisma-sql' },
    );
    expect(m.name).toBe('prisma-sql');
    expect((m as PrismaSqlMigrator).migrationsDir).toBe(path.join(BASIC, 'migrations'));
  });

  test('unknown kinds are configuration errors naming where the value came from', () => {
    expect(() => createMigrator({ kind: 'flyway' } as never, {})).toThrow(ConfigError);
    expect(() => createMigrator({ kind: 'flyway' } as never, {})).toThrow(
      'migrator.kind is "flyway"; expected one of prisma-sql, prisma, function',
    );
    expect(() => createMigrator({}, { SHIPGATE_MIGRATOR: 'knex' })).toThrow('env SHIPGATE_MIGRATOR is "knex"');
    expect(() => createMigrator({}, { SHIPGATE_MIGRATOR: 'function' })).toThrow('needs `hash` and `migrate`');
  });
});
