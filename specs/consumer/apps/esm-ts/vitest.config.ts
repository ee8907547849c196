import { shipgate } from 'shipgate';
import { defineConfig } from 'vitest/config';

// A third-party ESM TypeScript app: shipgate from its tarball, nothing else of shipgate's repo.
export default defineConfig({
  plugins: [shipgate()],
  test: { include: ['test/**/*.test.ts'], hookTimeout: 120_000, testTimeout: 60_000 },
});
