import { shipgate } from 'shipgate';
import { defineConfig } from 'vitest/config';

// The budget phase of `shipgate test`: one file at a time, nothing else on the CPU.
export default defineConfig({
  plugins: [shipgate({ prisma: 'src/db.js#createPrisma', app: 'src/app.js#createApp' })],
  test: { include: ['perf/**/*.budget.js'], fileParallelism: false, hookTimeout: 120_000, testTimeout: 120_000 },
});
