import { envValue } from '../../core/settings.ts';
import { printHelp, wantsHelp } from '../run.ts';
import { pipeline } from './test.ts';

/**
 * `shipgate gate [vitest filter…]`: the project's whole gate, every phase, in one report run.
 * `shipgate test` with a filter runs only the unit phase; the gate always runs unit, budgets and
 * E2E (each when its config exists), the filter narrowing the unit phase only.
 */
export const summary =
  'every phase of the gate (unit, budgets, E2E) even with a test filter; one report, one exit code';

const USAGE = `usage: shipgate gate [vitest filter…]

Runs every phase of \`shipgate test\` (generate, unit, budgets, e2e, report), each when its config
exists in the project, even when a test filter is given: the filter narrows the unit phase only.
  SHIPGATE_PHASES=unit,budgets,e2e   phases to run (default: all three)
exit: by the one policy (SHIPGATE_EXIT_POLICY): 0 passed, 2 failed or error, 1 regression, 3 inconclusive
`;

export default async function gate(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) return printHelp(USAGE);
  return pipeline(argv, { SHIPGATE_PHASES: envValue('SHIPGATE_PHASES') ?? 'unit,budgets,e2e' });
}
