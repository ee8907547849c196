import { describe, expect, test } from 'vitest';
import { expectClearFailure, SPEC_OPTIONS, SPEC_TIMEOUT_MS } from './expect.ts';
import { diskFull } from './harness.ts';

// Issue 14, fault 4: the data dir's file system full (a tmpfs as SHIPGATE_EMBEDDED_DIR, filled with fallocate).
describe('fault: the disk full in the data dir', () => {
  test('no room for initdb: the start fails naming the dir and quoting the log', { timeout: SPEC_TIMEOUT_MS }, async ({
    skip,
  }) => {
    const r = await diskFull('initdb', SPEC_OPTIONS);
    if (r.skipped) return skip(r.skipped);
    expect(r.code, r.output).toBe(1);
    expectClearFailure(
      r,
      /Embedded Postgres [\d.]+ failed to start \(dir "[^"]+", port \d+\): initdb exited 1\..*No space left on device/s,
    );
    expect(r.leftovers).toEqual([]);
  });

  test('full once the template is built: the clone fails, the server log says why, naming the dir', {
    timeout: SPEC_TIMEOUT_MS,
  }, async ({ skip }) => {
    const r = await diskFull('clone', SPEC_OPTIONS);
    if (r.skipped) return skip(r.skipped);
    expect(r.code, r.output).toBe(1);
    expectClearFailure(r, /Admin query failed on "[^"]+": .* — CREATE DATABASE/);
    // The client sees a symptom (a failed checkpoint, a dropped connection); the log has the cause.
    expect(r.output).toMatch(
      /shipgate: embedded: the server in "[^"]+" logged \d+ error\(s\)[^\n]*\n( {2}[^\n]*\n)*[^\n]*No space left on device/,
    );
    expect(r.leftovers).toEqual([]);
  });
});
