import type { Plugin } from 'vitest/config';
import type { Vitest } from 'vitest/node';
import { resolveOptions, type ShipgateOptions } from '../core/config.ts';
import { ownModulePath } from '../core/own-files.ts';
import { pgCopiesProblem } from '../core/pg-copies.ts';
import BudgetPhaseReporter from './budget-reporter.ts';
import ShipgateVitestReporter from './reporter.ts';

export type { Isolation, MigratorConfig, ShipgateOptions } from '../core/config.ts';

/** Key under which the resolved options are provided to globalSetup. */
export const OPTIONS_KEY = 'shipgate:options';

/** Options of the Vitest plugin: shipgate's options plus what only the plugin does. */
export interface ShipgateVitestOptions extends ShipgateOptions {
  /**
   * Register shipgate's reporters (the unified one, and the budget one for tests that call
   * `measure()`), unless the config already lists one of them. Default true.
   */
  reporters?: boolean;
}

const globalSetup = ownModulePath('./global-setup.ts', import.meta.url);

// A reporter listed by path or package name: `./plugins/vitest/reporter.ts`, `shipgate/vitest/reporter`, …
const OWN_REPORTER =
  /(^shipgate\/vitest\/(reporter|budget-reporter)$)|([/\\]vitest[/\\](reporter|budget-reporter)\.[cm]?[jt]s$)/;

function listsOwnReporter(reporters: readonly unknown[]): boolean {
  return reporters.some((r) => {
    const ref = Array.isArray(r) ? r[0] : r;
    if (typeof ref === 'string') return OWN_REPORTER.test(ref);
    return ref instanceof ShipgateVitestReporter || ref instanceof BudgetPhaseReporter;
  });
}

const registered = new WeakSet<Vitest>();

/**
 * The Vitest plugin (`shipgate:vitest`): add `shipgate()` to `plugins` in vitest.config.ts
 * and import `test` from `shipgate/vitest`. Starts one Postgres per run in globalSetup,
 * builds the template once, and hands workers what they need through `provide`/`inject`.
 * It registers shipgate's reporters itself. Options are validated up front, every problem
 * reported at once.
 */
export function shipgate(options: ShipgateVitestOptions = {}): Plugin {
  const { reporters = true, ...shipgateOptions } = options;
  return {
    name: 'shipgate:vitest',
    config() {
      return { test: { globalSetup: [globalSetup] } };
    },
    configureVitest({ project, vitest }) {
      const resolved = resolveOptions(shipgateOptions, project.config.root);
      project.provide(OPTIONS_KEY, resolved);
      const copies = pgCopiesProblem(project.config.root);
      if (copies) {
        // Only rollback isolation hands shipgate's pool to the app; elsewhere two copies work.
        if (resolved.isolation === 'rollback' && resolved.prisma) throw copies;
        process.stderr.write(`shipgate: warning: ${copies.message} ${copies.hint ?? ''}\n`);
      }
      // Reporters belong to the whole run, and this hook runs once per project.
      if (!reporters || registered.has(vitest)) return;
      registered.add(vitest);
      const list = vitest.config.reporters as unknown[];
      if (listsOwnReporter(list)) return;
      // Every test is recorded once: measured budget tests by their budget records, the rest here.
      list.push(new ShipgateVitestReporter({ skipMeasured: true }), new BudgetPhaseReporter({ scope: 'measured' }));
    },
  };
}
