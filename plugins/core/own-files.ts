import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * shipgate's own files, found from where shipgate is installed, never from the cwd. In this
 * repo the modules are `.ts` and run from source; in the package they are built `.js` under
 * `dist/`, and Node refuses to strip types under node_modules. So a module that names a
 * sibling to spawn, import or hand to a runner asks for it with its own extension.
 */

/** The extension of the module at `from` (`.ts` from source, `.js` when built). */
export function ownExtension(from: string): '.ts' | '.js' {
  return fileURLToPath(from).endsWith('.ts') ? '.ts' : '.js';
}

/**
 * URL of the module `spec` (written with `.ts`, relative to `from`), with the caller's own
 * extension: `ownModule('./reaper-process.ts', import.meta.url)`.
 */
export function ownModule(spec: string, from: string): URL {
  return new URL(spec.replace(/\.ts$/, ownExtension(from)), from);
}

/** {@link ownModule} as a file path. */
export function ownModulePath(spec: string, from: string): string {
  return fileURLToPath(ownModule(spec, from));
}

/** True for a file name that is a runnable module of this build (not a test, not a `.d.ts`). */
export function isOwnModuleFile(name: string, from: string): boolean {
  const ext = ownExtension(from);
  return name.endsWith(ext) && !name.endsWith(`.test${ext}`) && !name.endsWith('.d.ts');
}

let root: string | undefined;
/** The folder holding shipgate's own package.json (the repo, or `node_modules/shipgate`). */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'shipgate') {
      root = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`shipgate: no package.json named "shipgate" above ${import.meta.url}`);
    dir = parent;
  }
}

/** shipgate's own package version. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
