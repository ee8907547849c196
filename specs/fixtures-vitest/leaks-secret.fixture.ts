import { expect, test } from 'vitest';

// Child test for specs/secrets.test.ts: failures whose messages carry secrets, as a real app's would.
test('a connection error names its URL', () => {
  throw new Error(`connect ECONNREFUSED: postgres://app:${process.env.LEAK_PASSWORD}@127.0.0.1:1/app`);
});

test('an upstream error echoes a configured token', () => {
  throw new Error(`upstream said 401 to Authorization: Bearer ${process.env.MY_API_TOKEN}`);
});

test('a passing test', () => {
  expect(1).toBe(1);
});
