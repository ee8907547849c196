import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Helpers shared by CLI commands. The CLI runs in the user's project (the cwd) and finds its
 * own files from where it is installed (`core/own-files.ts`), never from the project.
 */

/** The project root the CLI runs in (the cwd). */
export const root = process.cwd();

/**
 * A tool installed for the project: `node_modules/.bin/<name>` in the project or a parent
 * folder (hoisted workspaces), else `<name>` from PATH.
 */
export function bin(name: string, from: string = root): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '.bin', name);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return name;
  }
}

/** The first of `names` that exists under `dir`, as an absolute path. */
export function firstExisting(dir: string, names: readonly string[]): string | undefined {
  return names.map((n) => path.join(dir, n)).find((f) => existsSync(f));
}

/** True when `argv` asks for help (`--help` or `-h` anywhere). */
export const wantsHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

/** Prints `usage` for `--help`: exit 0. */
export function printHelp(usage: string): number {
  process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
  return 0;
}

/** A usage error: `shipgate <command>: <problem>` and the usage on stderr, exit 64. */
export function usageError(command: string, problem: string, usage: string): number {
  process.stderr.write(`shipgate ${command}: ${problem}\n${usage.endsWith('\n') ? usage : `${usage}\n`}`);
  return 64;
}

let interruptedBy: NodeJS.Signals | undefined;

/**
 * The signal (SIGINT, SIGTERM) this process received while {@link run} had a child, if any: a
 * pipeline stops there and exits 130 or 143 instead of starting the next phase.
 */
export function interrupted(): { signal: NodeJS.Signals; code: number } | undefined {
  return interruptedBy ? { signal: interruptedBy, code: interruptedBy === 'SIGINT' ? 130 : 143 } : undefined;
}

/**
 * Runs a command with inherited stdio; forwards Ctrl-C / SIGTERM so the child's own teardown
 * (containers, databases) runs. Resolves with its exit code (128+n when killed by a signal).
 */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    const forward = (sig: NodeJS.Signals) => {
      interruptedBy ??= sig;
      child.kill(sig);
    };
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
