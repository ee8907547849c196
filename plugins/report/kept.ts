import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redactUrl } from '../core/errors.ts';
import { reportDir } from './records.ts';

/**
 * Says that a failed test's database was kept (SHIPGATE_KEEP_ON_FAILURE), without printing its
 * password: the output shows the URL with `***`, and the full URL goes to a file only the user
 * can read, `<report dir>/kept/<database>.url`. Returns that file's path.
 */
export function announceKept(url: string, what: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = path.join(reportDir(env), 'kept');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let name = 'database';
  try {
    name = decodeURIComponent(new URL(url).pathname.slice(1)) || name;
  } catch {}
  const file = path.join(dir, `${name.replace(/[^\w.-]/g, '_')}.url`);
  writeFileSync(file, `${url}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  process.stderr.write(`shipgate: kept the database of a failed ${what}: ${redactUrl(url)} (full URL in ${file})\n`);
  return file;
}
