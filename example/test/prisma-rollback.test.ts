import './register.ts';
import { describe, expect, test } from '../../fixtures/vitest.ts';

describe('Prisma inside rollback isolation', () => {
  test.override({ isolation: 'rollback' });

  test('writes through Prisma stay inside the test transaction', async ({ prisma, db }) => {
    const p = prisma;
    await p.user.create({ data: { email: 'prisma-rb@example.test', name: 'rb' } });
    expect(await p.user.count()).toBe(1);
    // Same transaction: the raw pg view sees Prisma's uncommitted row.
    expect(await db.rows('SELECT 1 FROM users')).toHaveLength(1);
  });

  test('…and are gone in the next test', async ({ prisma }) => {
    expect(await prisma.user.count()).toBe(0);
  });

  test('an interactive $transaction that throws rolls back to its savepoint only', async ({ prisma }) => {
    const p = prisma;
    await p.user.create({ data: { email: 'kept@example.test', name: 'kept' } });
    await expect(
      p.$transaction(async (tx) => {
        await tx.user.create({ data: { email: 'undone@example.test', name: 'undone' } });
        throw new Error('abort inner');
      }),
    ).rejects.toThrow('abort inner');
    const emails = (await p.user.findMany({ orderBy: { email: 'asc' } })).map((u) => u.email);
    expect(emails).toEqual(['kept@example.test']);
  });

  test('a committed $transaction is still rolled back with the test', async ({ prisma }) => {
    const p = prisma;
    await p.$transaction(async (tx) => {
      await tx.user.create({ data: { email: 'tx@example.test', name: 'tx' } });
    });
    expect(await p.user.count()).toBe(1);
  });

  test('…so this test starts empty again', async ({ prisma }) => {
    expect(await prisma.user.count()).toBe(0);
  });
});
