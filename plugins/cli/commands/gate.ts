import { pipeline } from './test.ts';

/** `shipgate gate`: the example app's gate, on embedded Postgres unless SHIPGATE_PROVIDER says otherwise. */
export const summary = "the example app's gate (embedded Postgres by default)";

export default function gate(argv: string[]): Promise<number> {
  return pipeline(['example', ...argv], {
    SHIPGATE_PROVIDER: process.env.SHIPGATE_PROVIDER ?? 'embedded',
    // The gate is the example's tests plus its budgets and E2E flows, despite the test filter.
    SHIPGATE_PHASES: process.env.SHIPGATE_PHASES ?? 'unit,budgets,e2e',
  });
}
