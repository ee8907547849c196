import { describe, expect, test } from '../fixtures/vitest.ts';
import { measure } from '../plugins/vitest/budget.ts';
import { exampleSlos } from './example.slo.ts';

/**
 * The example app's performance budgets, at `SHIPGATE_BUDGET_PROFILE` (smoke in `pnpm test`).
 * Each test starts the app in this process on a free port, over this file's clone of the
 * seeded template, and loads it from a worker thread.
 */
describe('example app budgets', () => {
  for (const slo of exampleSlos) {
    test(slo.name, async ({ app }) => {
      const result = await measure(app, slo);
      expect(result).toMeetBudget();
    });
  }
});
