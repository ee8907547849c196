import { ShipgateError } from '../core/errors.ts';

/** An SLO definition failed validation; every problem is listed at once. */
export class SloError extends ShipgateError {
  readonly problems: readonly string[];
  constructor(subject: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      'SHIPGATE_SLO',
      `Invalid SLO ${subject} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      options,
    );
    this.problems = problems;
  }
}

/** A budget run could not be carried out: unreachable target, generator crash, bad baseline file. */
export class BudgetError extends ShipgateError {}
