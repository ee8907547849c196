import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

/** Lint, format and type check run as tests, so `pnpm test` fails on them like on any other failure. */
const root = path.resolve(import.meta.dirname, '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[]) {
  const res = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 180_000 });
  return { code: res.status, output: `${res.stdout}\n${res.stderr}`.trim() };
}

test('biome: lint and format are clean', () => {
  const { code, output } = run(bin('biome'), ['check', '--diagnostic-level=error', '.']);
  expect(code, output.slice(-4000)).toBe(0);
});

test('tsc: strict type check passes', () => {
  const { code, output } = run(bin('tsc'), ['--noEmit', '-p', '.']);
  expect(code, output.slice(-4000)).toBe(0);
});
