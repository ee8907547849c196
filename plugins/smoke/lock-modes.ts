/**
 * Postgres' table-level lock modes, weakest first, and their conflict matrix
 * (explicit-locking.html, table 13.2): one copy for the watcher (strength, what a hold blocks)
 * and the lock_timeout inspector (which held modes can block a waiting one).
 */
export const MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];

/** Bit i set: conflicts with MODES[i]. */
const CONFLICTS: Record<string, number> = {
  AccessShareLock: 0b10000000,
  RowShareLock: 0b11000000,
  RowExclusiveLock: 0b11110000,
  ShareUpdateExclusiveLock: 0b11111000,
  ShareLock: 0b11101100,
  ShareRowExclusiveLock: 0b11111100,
  ExclusiveLock: 0b11111110,
  AccessExclusiveLock: 0b11111111,
};

/** Position of `mode` from weakest (0) to strongest (7); -1 for a mode that is not a table lock. */
export const strength = (mode: string): number => MODES.indexOf(mode);

/** The modes that conflict with `mode` (all of them for an unknown mode). */
export function conflictingModes(mode: string): string[] {
  const bits = CONFLICTS[mode] ?? 0b11111111;
  return MODES.filter((_, i) => bits & (1 << i));
}

/** Modes that conflict with RowExclusiveLock (INSERT/UPDATE/DELETE). */
export const blocksWrites = (mode: string): boolean => strength(mode) >= strength('ShareLock');
/** Only ACCESS EXCLUSIVE conflicts with plain SELECT. */
export const blocksReads = (mode: string): boolean => mode === 'AccessExclusiveLock';
