import { spawn } from 'node:child_process';
import path from 'node:path';

/** Helpers shared by CLI commands. */

/** The project root the CLI runs in (the cwd). */
export const root = process.cwd();

/** A binary from the project's node_modules/.bin. */
export const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

/**
 * Runs a command with inherited stdio; forwards Ctrl-C / SIGTERM so the child's own teardown
 * (containers, databases) runs. Resolves with its exit code (128+n when killed by a signal).
 */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1));
    });
    child.on('error', () => resolve(127));
  });
}
