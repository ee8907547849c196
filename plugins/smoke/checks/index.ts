/**
 * The smoke's checks, in the order they run. Adding a check: a file in this folder exporting a
 * `SmokeCheck`, its id in `CheckId` (types.ts), and its place in this list.
 */
import { apply } from './apply.ts';
import { backup } from './backup.ts';
import type { SmokeCheck } from './context.ts';
import { data } from './data.ts';
import { dependencies } from './dependencies.ts';
import { drift } from './drift.ts';
import { history } from './history.ts';
import { invariants } from './invariants.ts';
import { lint } from './lint.ts';
import { locks } from './locks.ts';
import { recorded } from './recorded.ts';
import { replay } from './replay.ts';
import { restore } from './restore.ts';
import { restoreAfter } from './restore-after.ts';

export type { SmokeCheck, SmokeContext, Stage } from './context.ts';

export const CHECKS: readonly SmokeCheck[] = [
  history,
  lint,
  backup,
  apply,
  locks,
  recorded,
  data,
  invariants,
  drift,
  restore,
  // Before the replay: its rolled-back INSERTs still advance sequences, which the dump compares.
  restoreAfter,
  replay,
  dependencies,
];
