import { expect, test } from '@playwright/test';

test.describe('outcomes', () => {
  test('passes', () => {
    expect(2 * 2).toBe(4);
  });

  test('fails every attempt', () => {
    expect('shown').toBe('hidden');
  });

  // biome-ignore lint/correctness/noEmptyPattern: Playwright wants the fixtures argument destructured
  test('passes on retry', ({}, testInfo) => {
    expect(testInfo.retry, 'first attempt fails on purpose').toBeGreaterThan(0);
  });

  test('is skipped', () => {
    test.skip(true, 'not relevant here');
  });
});
