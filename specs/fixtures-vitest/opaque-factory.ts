/** A factory whose client offers no way to run a statement: the pool probe must say so. */
export function make(_url: string): object {
  return { name: 'opaque' };
}
