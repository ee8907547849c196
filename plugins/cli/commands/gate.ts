import { pipeline } from './test.ts';

/** `shipgate gate`: the example app's gate, on embedded Postgres unless SHIPGATE_PROVIDER says otherwise. */
export const summary = "the example app's gate (embedded Postgres by default)";

export default function gate(argv: string[]): Promise<number> {
  return pipeline(['example', ...argv], { SHIPGATE_PROVIDER: process.env.SHIPGATE_PROVIDER ?? 'embedded' });
}
