import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { BudgetError } from '../budget/errors.ts';
import { onTeardown } from '../core/cleanup.ts';
import { describeError } from '../core/errors.ts';
import { type K6Summary, readK6Summary } from './summary.ts';

/**
 * Finds and runs k6. The binary is `K6_BIN`, else `k6` on `PATH`; every run passes
 * `--no-usage-report`. k6's exit code 99 means thresholds were crossed: an SLO violation.
 */

export interface K6Binary {
  path: string;
  source: 'K6_BIN' | 'PATH';
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The k6 binary, or why there is none (a sentence naming K6_BIN / PATH). */
export function findK6(env: NodeJS.ProcessEnv = process.env): { binary?: K6Binary; reason: string } {
  const configured = env.K6_BIN;
  if (configured) {
    const file = path.resolve(configured);
    if (executable(file)) return { binary: { path: file, source: 'K6_BIN' }, reason: `K6_BIN=${file}` };
    return {
      reason: `K6_BIN is "${configured}", which ${existsSync(file) ? 'is not an executable file' : 'does not exist'}; point it at a k6 binary or unset it`,
    };
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, 'k6');
    if (executable(file)) return { binary: { path: file, source: 'PATH' }, reason: `k6 on PATH at ${file}` };
  }
  return {
    reason:
      'k6 is not installed: no `k6` on PATH and K6_BIN is not set (https://grafana.com/docs/k6/latest/set-up/install-k6/)',
  };
}

/** k6's exit codes (errext/exitcodes). */
export const K6_EXIT_CODES: Readonly<Record<number, string>> = {
  0: 'success',
  97: 'cloud test run failed',
  98: 'cloud: failed to get progress',
  99: 'thresholds crossed',
  100: 'setup() timed out',
  101: 'teardown() timed out',
  102: 'timed out',
  103: 'engine error',
  104: 'invalid configuration',
  105: 'aborted from outside',
  106: 'cannot start the REST API',
  107: 'script exception',
  108: 'script aborted',
};

/** What a k6 exit code means for shipgate: ok, an SLO violation (99), or a run error. */
export function k6ExitMeaning(code: number | null): { kind: 'ok' | 'violation' | 'error'; text: string } {
  if (code === 0) return { kind: 'ok', text: 'k6 exited 0: every threshold held' };
  if (code === 99) return { kind: 'violation', text: 'k6 exited 99: thresholds crossed (an SLO violation)' };
  const known = code === null ? 'killed by a signal' : (K6_EXIT_CODES[code] ?? 'unknown error');
  return { kind: 'error', text: `k6 exited ${code ?? 'without a code'}: ${known}` };
}

export interface K6Run {
  code: number | null;
  meaning: ReturnType<typeof k6ExitMeaning>;
  /** The handleSummary JSON (else the --summary-export one), when k6 wrote one shipgate can read. */
  summary?: K6Summary;
  /** Why the summary k6 left could not be read (`SHIPGATE_K6_SUMMARY`: truncated, empty, not JSON, wrong shape). */
  summaryError?: BudgetError;
  summaryFile: string;
  exportFile: string;
  output: string;
}

/**
 * Runs `k6 run --no-usage-report` on `script` with `BASE_URL` and `SHIPGATE_REPORT_DIR`, writing
 * `<reportDir>/k6/<name>.summary.json` (handleSummary) and `<name>.export.json` (--summary-export).
 * Resolves once k6 exits, whatever it left: an unreadable summary is `summaryError`, not a throw.
 */
export function runK6(
  binary: K6Binary,
  script: string,
  opts: { baseUrl: string; reportDir: string; name: string; args?: string[]; onOutput?: (chunk: string) => void },
): Promise<K6Run> {
  const dir = path.join(opts.reportDir, 'k6');
  mkdirSync(dir, { recursive: true });
  const summaryFile = path.join(dir, `${opts.name}.summary.json`);
  const exportFile = path.join(dir, `${opts.name}.export.json`);
  // A summary left by an earlier run must not stand in for this one's.
  for (const file of [summaryFile, exportFile]) rmSync(file, { force: true });
  const args = [
    'run',
    '--no-usage-report',
    '--summary-export',
    exportFile,
    '-e',
    `BASE_URL=${opts.baseUrl}`,
    '-e',
    `SHIPGATE_REPORT_DIR=${opts.reportDir}`,
    // handleSummary writes here; an inherited SHIPGATE_K6_SUMMARY would send it elsewhere.
    '-e',
    `SHIPGATE_K6_SUMMARY=${summaryFile}`,
    ...(opts.args ?? []),
    script,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(binary.path, args, {
      env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const unregister = onTeardown(`k6 run ${opts.name}`, () => {
      child.kill('SIGTERM');
    });
    let output = '';
    const onData = (b: Buffer) => {
      output += b.toString();
      opts.onOutput?.(b.toString());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      unregister();
      reject(
        new BudgetError('SHIPGATE_K6_RUN', `Could not start k6 at "${binary.path}": ${err.message}.`, {
          cause: err,
          hint: 'Check K6_BIN or PATH.',
        }),
      );
    });
    child.on('exit', (code) => {
      unregister();
      let summary: K6Summary | undefined;
      let summaryError: BudgetError | undefined;
      const file = [summaryFile, exportFile].find((f) => existsSync(f));
      if (file) {
        try {
          summary = readK6Summary(
            file,
            `k6 (${binary.path}) ${code === null ? 'was killed by a signal' : `exited ${code}`} after writing it; its output shows why. The generated script's handleSummary writes ${path.basename(summaryFile)}, --summary-export ${path.basename(exportFile)}: re-run \`shipgate k6 run\`.`,
          );
        } catch (err) {
          // Thrown in an event handler it would be uncaught: every failure becomes the run's summaryError.
          summaryError =
            err instanceof BudgetError
              ? err
              : new BudgetError(
                  'SHIPGATE_K6_SUMMARY',
                  `k6 summary "${file}" could not be read: ${describeError(err)}.`,
                  {
                    cause: err,
                  },
                );
        }
      }
      resolve({
        code,
        meaning: k6ExitMeaning(code),
        ...(summary ? { summary } : {}),
        ...(summaryError ? { summaryError } : {}),
        summaryFile,
        exportFile,
        output,
      });
    });
  });
}
