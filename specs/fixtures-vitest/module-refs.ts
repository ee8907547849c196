// Module references for the bad config entries of specs/support/bad-inputs.ts: a module that
// exists and exports functions, but not under the names a misspelt config asks for.
export function createPrisma(): never {
  throw new Error('not used: the bad inputs never get this far');
}

export function createApp(): never {
  throw new Error('not used: the bad inputs never get this far');
}

export const notAFunction = 42;
