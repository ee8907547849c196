import { setTimeout as sleep } from 'node:timers/promises';
import { test } from '../../fixtures/vitest.ts';

test('holds its database until the parent kills the run', async ({ db }) => {
  await db.query('SELECT 1');
  process.stdout.write(`SHIPGATE_CHILD_READY ${db.name}\n`);
  await sleep(25_000);
});
