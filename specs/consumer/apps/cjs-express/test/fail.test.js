import { expect, test } from 'vitest';

// Not in the README: the consumer spec sets CONSUMER_FAIL=1 to see a failing run exit non-zero.
test('CONSUMER_FAIL=1 makes this run fail', () => {
  expect(process.env.CONSUMER_FAIL ?? '0').toBe('0');
});
