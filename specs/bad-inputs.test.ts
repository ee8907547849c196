import { describe, expect, test } from 'vitest';
import { BAD_INPUTS, type BadInput, type BadInputResult, runBadInput } from './support/bad-inputs.ts';

/**
 * Every bad input of the catalogue (specs/support/bad-inputs.ts) ends in a clear error: the
 * expected non-zero exit, the value seen and the fix in the output, no stack frames, no
 * `[object Object]`, no raw SyntaxError/TypeError, no secret. Each runs as a real child process
 * (the CLI, or Vitest with a config fixture), two at a time on this 2-core machine. An entry with
 * `knownUnclear` is expected to fail, so it cannot pass silently: once its fix lands, the test
 * fails until `knownUnclear` is removed.
 */

const MAX_RUNNING = 2;
let running = 0;
const waiting: (() => void)[] = [];
async function limited(b: BadInput): Promise<BadInputResult> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await runBadInput(b);
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

test('the catalogue has at least 55 entries with unique ids, at least 50 expected clear', () => {
  expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(55);
  expect(new Set(BAD_INPUTS.map((b) => b.id)).size).toBe(BAD_INPUTS.length);
  expect(BAD_INPUTS.filter((b) => !b.knownUnclear).length).toBeGreaterThanOrEqual(50);
  for (const b of BAD_INPUTS) {
    expect(b.expectExit, b.id).not.toBe(0);
    expect(b.mustMention.length, b.id).toBeGreaterThan(0);
    expect(!!b.argv !== !!b.vitest, `${b.id}: argv or vitest, not both`).toBe(true);
  }
});

describe.concurrent('bad inputs get a clear error', () => {
  for (const b of BAD_INPUTS) {
    const run = b.knownUnclear ? test.fails : test;
    run(
      `${b.id}: ${b.what}${b.knownUnclear ? ` (known unclear: ${b.knownUnclear})` : ''}`,
      { timeout: 300_000 },
      async () => {
        const r = await limited(b);
        expect(r.clear, `${r.why}\n--- output (exit ${r.exit}) ---\n${r.output}`).toBe(true);
      },
    );
  }
});
