import { describe, expect, test } from 'vitest';

// Input for specs/report: one test of every outcome, reported by the real Vitest reporter.
describe('mix', () => {
  test('passes', () => {
    expect(1 + 1).toBe(2);
  });

  test('fails with a message', () => {
    expect('actual value').toBe('expected value');
  });

  test.skip('is skipped', () => {});

  let attempts = 0;
  test('passes on retry', { retry: 2 }, () => {
    attempts += 1;
    if (attempts < 2) throw new Error(`attempt ${attempts} fails`);
  });
});
