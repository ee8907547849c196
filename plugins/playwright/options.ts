import { existsSync } from 'node:fs';
import type { ShipgateOptions } from '../core/config.ts';
import { parseModuleRef } from '../core/config.ts';
import { type AppConfig, appConfigProblems } from './app-server.ts';

/** How a test's database state is reset before it runs. */
export type ResetMode = 'truncate' | 'none';

/**
 * shipgate's Playwright options, set in `use` of playwright.config.ts (they are option
 * fixtures, so a project or a `test.use()` can override the test-scoped ones).
 */
export interface ShipgatePlaywrightOptions {
  /**
   * The same options as Vitest's `shipgate({ … })`: `postgres` (provider, image, adminUrl…),
   * `migrator`, `seed` (run once into the template), `prisma` (data-layer factory for the
   * `prisma` and `seed` fixtures and in-process apps), `poolSize`, `keepOnFailure`. Default `{}`.
   */
  shipgate?: ShipgateOptions;
  /** The app under test: `{ command: 'node src/server.ts', healthPath: '/health' }` or `{ factory: 'src/app.ts#createApp' }`. */
  app?: AppConfig;
  /** `path#export` of `(prisma, input) => Promise<created>`, called by the `seed` fixture. */
  seeder?: string;
  /** Before each test: `truncate` every table except `_prisma_migrations` (default), or `none`. */
  reset?: ResetMode;
}

const RESETS: readonly ResetMode[] = ['truncate', 'none'];

/** Problems with the Playwright-only options of one project; empty when fine. */
export function playwrightOptionProblems(use: ShipgatePlaywrightOptions, root: string, project = ''): string[] {
  const where = project ? ` (project "${project}")` : '';
  const problems = appConfigProblems(use.app).map((p) => `${p}${where}`);
  if (use.app === undefined) problems.push(`app is not set${where}: use.app = { command } or { factory }`);
  else if ('factory' in use.app && typeof use.app.factory === 'string') {
    const { file } = parseModuleRef(use.app.factory, root);
    if (!existsSync(file)) problems.push(`app.factory module "${file}" does not exist${where}`);
  }
  if (use.seeder !== undefined) {
    if (typeof use.seeder !== 'string') problems.push(`seeder must be "path#export", got ${typeof use.seeder}${where}`);
    else if (!existsSync(parseModuleRef(use.seeder, root).file)) {
      problems.push(`seeder module "${parseModuleRef(use.seeder, root).file}" does not exist${where}`);
    }
  }
  if (use.seeder !== undefined && !use.shipgate?.prisma) {
    problems.push(`seeder needs a data layer: set shipgate.prisma = "path#export" of (url) => PrismaClient${where}`);
  }
  if (use.reset !== undefined && !RESETS.includes(use.reset)) {
    problems.push(`reset is "${use.reset}"${where}; expected ${RESETS.join(' or ')}`);
  }
  return problems;
}
