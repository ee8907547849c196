import { existsSync } from 'node:fs';

/**
 * A system Chromium for places where Playwright's own browser download is impossible.
 * `SHIPGATE_CHROMIUM` names it; otherwise Debian's and Ubuntu's usual paths are tried.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.SHIPGATE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (c): c is string => !!c,
  );
  return candidates.find((c) => existsSync(c));
}

/**
 * Flags for a closed network: no background traffic, no component updates, no QUIC; and no
 * sandbox when running as root (Chromium refuses to start as root with it).
 */
export function chromiumArgs(): string[] {
  const args = [
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
    '--disable-quic',
  ];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return args;
}
