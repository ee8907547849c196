import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');

/** Runs the Playwright CLI from the repo root; resolves with its exit code and output (no colours). */
export function runPlaywright(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'node_modules', '.bin', 'playwright'), args, {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const add = (c: Buffer) => {
      output += c.toString();
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    child.on('exit', (code) => resolve({ code, output }));
  });
}
