import { shipgate } from 'shipgate';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [shipgate({ prisma: 'src/db.js#createPrisma', app: 'src/app.js#createApp' })],
  test: { include: ['test/**/*.test.js'], hookTimeout: 120_000, testTimeout: 60_000 },
});
