import { defineConfig } from 'vitest/config';
import { shipgate } from '../../plugins/vitest/plugin.ts';

// Child Vitest run for specs/bad-inputs.test.ts: shipgate's options come as JSON in
// BAD_INPUT_OPTIONS, so one config serves every bad config in the catalogue
// (specs/support/bad-inputs.ts). Paths in them are relative to this folder.
const options: unknown = JSON.parse(process.env.BAD_INPUT_OPTIONS ?? '{}');
export default defineConfig({
  root: import.meta.dirname,
  plugins: [shipgate({ reporters: false, ...(options as object) } as Parameters<typeof shipgate>[0])],
  test: { include: ['passes.fixture.ts'], maxWorkers: 1, reporters: ['default'] },
});
