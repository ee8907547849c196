import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vitest/config';
import { resolveOptions, type ShipgateOptions } from '../core/config.ts';

/** Key under which the resolved options are provided to globalSetup. */
export const OPTIONS_KEY = 'shipgate:options';

const globalSetup = fileURLToPath(new URL('./global-setup.ts', import.meta.url));

/**
 * The Vitest plugin (`shipgate:vitest`): add `shipgate()` to `plugins` in vitest.config.ts
 * and import `test` from `shipgate/vitest`. Starts one Postgres per run in globalSetup,
 * builds the template once, and hands workers what they need through `provide`/`inject`.
 * Options are validated up front, every problem reported at once.
 */
export function shipgate(options: ShipgateOptions = {}): Plugin {
  return {
    name: 'shipgate:vitest',
    config() {
      return { test: { globalSetup: [globalSetup] } };
    },
    configureVitest({ project }) {
      project.provide(OPTIONS_KEY, resolveOptions(options, project.config.root));
    },
  };
}
