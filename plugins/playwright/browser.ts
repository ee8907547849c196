import { accessSync, constants, statSync } from 'node:fs';
import { ShipgateError } from '../core/errors.ts';
import { envValue } from '../core/settings.ts';

/**
 * Which Chromium the E2E tests launch. Playwright's own browser download needs hosts that
 * many CI machines cannot reach, so a system Chromium (Debian's `chromium`) is a first-class
 * choice: named by `SHIPGATE_CHROMIUM` or `use.launchOptions.executablePath`, else found at a
 * well-known path when Playwright's own browser is not installed.
 */

/** Env var naming the Chromium (or Chrome) binary to launch. Overrides `launchOptions.executablePath`. */
export const CHROMIUM_ENV = 'SHIPGATE_CHROMIUM';

/** Where system Chromium/Chrome packages put their binary, tried in order. */
export const SYSTEM_CHROMIUM_PATHS: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome-stable',
  '/usr/bin/google-chrome',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/**
 * Flags for a system Chromium: no background traffic (update checks, component downloads,
 * sync, QUIC probes) — test machines often allow loopback only, and a browser talking to
 * the internet mid-test is noise at best.
 */
export const SYSTEM_CHROMIUM_FLAGS: readonly string[] = [
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/** The browser was not found, or the one named is not an executable file. */
export class BrowserNotFoundError extends ShipgateError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super('SHIPGATE_NO_BROWSER', message, options);
  }
}

/** The subset of Playwright's LaunchOptions this module reads and writes. */
export interface ChromiumLaunchOptions {
  executablePath?: string;
  args?: string[];
  [key: string]: unknown;
}

/** Where the chosen binary came from. */
export type ChromiumSource = 'env' | 'config' | 'playwright' | 'system';

export interface ChromiumChoice {
  /** Launch options to use: the given ones, plus `executablePath` and flags for a system browser. */
  launchOptions: ChromiumLaunchOptions;
  source: ChromiumSource;
  /** The binary; undefined when Playwright's own browser is used. */
  executablePath?: string;
}

function executable(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return 'is not a file';
    accessSync(file, constants.X_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not executable';
  }
}

function withFlags(base: ChromiumLaunchOptions, executablePath: string, isRoot: boolean): ChromiumLaunchOptions {
  const args = [...(base.args ?? [])];
  for (const flag of SYSTEM_CHROMIUM_FLAGS) if (!args.includes(flag)) args.push(flag);
  // Chromium refuses to run as root with its sandbox on.
  if (isRoot && !args.includes('--no-sandbox')) args.push('--no-sandbox');
  return { ...base, executablePath, args };
}

/**
 * Picks the Chromium to launch: `SHIPGATE_CHROMIUM`, else `launchOptions.executablePath`, else
 * Playwright's own browser when installed (`bundledPath` exists), else the first of
 * {@link SYSTEM_CHROMIUM_PATHS}. A named binary that is missing is an error, never a fallback.
 */
export function chooseChromium(
  launchOptions: ChromiumLaunchOptions = {},
  opts: {
    env?: NodeJS.ProcessEnv;
    /** Playwright's own Chromium (`chromium.executablePath()`), if it can tell. */
    bundledPath?: string;
    candidates?: readonly string[];
    isRoot?: boolean;
  } = {},
): ChromiumChoice {
  const env = opts.env ?? process.env;
  const isRoot = opts.isRoot ?? process.getuid?.() === 0;
  const fromEnv = envValue(CHROMIUM_ENV, env)?.trim();
  if (fromEnv) {
    const problem = executable(fromEnv);
    if (problem) {
      throw new BrowserNotFoundError(`${CHROMIUM_ENV} is "${fromEnv}", which ${problem}.`, {
        hint: `Point ${CHROMIUM_ENV} at a Chromium or Chrome binary (Debian: apt-get install chromium → /usr/bin/chromium), or unset it.`,
      });
    }
    return { launchOptions: withFlags(launchOptions, fromEnv, isRoot), source: 'env', executablePath: fromEnv };
  }
  if (launchOptions.executablePath) {
    const problem = executable(launchOptions.executablePath);
    if (problem) {
      throw new BrowserNotFoundError(
        `use.launchOptions.executablePath is "${launchOptions.executablePath}", which ${problem}.`,
        { hint: `Fix it in playwright.config.ts, or set ${CHROMIUM_ENV}.` },
      );
    }
    return {
      launchOptions: withFlags(launchOptions, launchOptions.executablePath, isRoot),
      source: 'config',
      executablePath: launchOptions.executablePath,
    };
  }
  if (opts.bundledPath && !executable(opts.bundledPath)) return { launchOptions, source: 'playwright' };
  const candidates = opts.candidates ?? SYSTEM_CHROMIUM_PATHS;
  const found = candidates.find((c) => !executable(c));
  if (found) return { launchOptions: withFlags(launchOptions, found, isRoot), source: 'system', executablePath: found };
  throw new BrowserNotFoundError(
    `No Chromium to run the E2E tests: Playwright's own browser is not installed${opts.bundledPath ? ` (${opts.bundledPath})` : ''}, ${CHROMIUM_ENV} is not set, and none of ${candidates.join(', ')} exists.`,
    {
      hint: `Install one (Debian: apt-get install chromium) and set ${CHROMIUM_ENV}=/path/to/chromium, or run "pnpm exec playwright install chromium".`,
    },
  );
}
