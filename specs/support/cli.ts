import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { RecordFile, ShipgateRecord } from '../../plugins/report/model.ts';

/** The repo root and the CLI as users run it. */
export const root = path.resolve(import.meta.dirname, '../..');
export const cli = path.join(root, 'plugins', 'cli', 'shipgate.ts');

/**
 * Runs `shipgate <args>` as a child process with its records in `reportDir` (removed after):
 * the exit code, stdout and stderr together, and the records it wrote.
 */
export function runShipgate(
  args: string[],
  env: NodeJS.ProcessEnv,
  reportDir: string,
): Promise<{ code: number | null; out: string; records: ShipgateRecord[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: root,
      env: { ...process.env, SHIPGATE_REPORT_DIR: reportDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (out += b));
    child.on('exit', (code) => {
      const dir = path.join(reportDir, 'records');
      const records = existsSync(dir)
        ? readdirSync(dir).flatMap((f) => (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RecordFile).records)
        : [];
      rmSync(reportDir, { recursive: true, force: true });
      resolve({ code, out, records });
    });
  });
}
