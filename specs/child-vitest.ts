import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** Helpers for specs that run a child Vitest and look at what it left behind. */
const root = path.resolve(import.meta.dirname, '..');

/** A fresh database prefix, so a child's databases can be told apart on a shared server. */
export function childPrefix(): string {
  return `sgc${randomBytes(4).toString('hex')}`;
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs `vitest run <file>` with the fixture config in a child process.
 * `onOutput` sees the output as it arrives and may return a signal to send the child.
 */
export function runChildVitest(
  file: string,
  env: NodeJS.ProcessEnv,
  onOutput?: (soFar: string) => NodeJS.Signals | undefined,
): Promise<ChildRun> {
  return runChild(['run', '--config', 'specs/fixtures-vitest/vitest.config.ts', file], env, onOutput);
}

/** Runs the Vitest CLI with `args` in a child process; output is captured with colours stripped. */
export function runChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  onOutput?: (soFar: string) => NodeJS.Signals | undefined,
): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'node_modules', '.bin', 'vitest'), args, {
      cwd: root,
      env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let sent = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!sent && onOutput) {
        const sig = onOutput(output);
        if (sig) {
          sent = true;
          child.kill(sig);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
    child.on('exit', (code, signal) => resolve({ code, signal, output: output.replace(/\x1b\[[0-9;]*m/g, '') }));
  });
}

/** Drops every database a child run created under `prefix` (templates included). */
export async function dropPrefix(adminUrl: string, major: number, prefix: string): Promise<void> {
  const { Databases } = await import('../plugins/postgres/databases.ts');
  const dbs = new Databases(adminUrl, { prefix, major });
  try {
    for (const d of await dbs.list()) await dbs.dropByName(d.name);
  } finally {
    await dbs.close();
  }
}
