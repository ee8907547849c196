/**
 * Process-wide teardown registry. Started resources register an async cleanup here so it
 * runs on normal teardown *and* on SIGINT/SIGTERM/SIGHUP, when Vitest or Playwright may be
 * killed before their own teardown hooks run (and Ryuk may be disabled).
 */
type Cleanup = () => Promise<void> | void;

const cleanups = new Map<symbol, { label: string; fn: Cleanup }>();
let installed = false;
let running: Promise<void> | undefined;

/** Registers `fn` to run at signal-driven exit. Returns a function that unregisters it. */
export function onTeardown(label: string, fn: Cleanup): () => void {
  const key = Symbol(label);
  cleanups.set(key, { label, fn });
  installSignalHandlers();
  return () => {
    cleanups.delete(key);
  };
}

/** Runs every registered cleanup once, newest first; errors are reported, never thrown. */
export function runTeardowns(): Promise<void> {
  running ??= (async () => {
    const entries = [...cleanups.entries()].reverse();
    cleanups.clear();
    for (const [, { label, fn }] of entries) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(
          `shipgate: cleanup "${label}" failed: ${err instanceof Error ? err.message : String(err)}\n`,
        );
      }
    }
  })().finally(() => {
    running = undefined;
  });
  return running;
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // `once` so a second Ctrl-C during cleanup falls through to Node's default (exit now).
    process.once(signal, () => {
      const exitCode = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1);
      process.stderr.write(`shipgate: interrupted by ${signal}; cleaning up, then exiting ${exitCode}\n`);
      const hard = setTimeout(() => process.exit(exitCode), 15_000);
      hard.unref();
      void runTeardowns().finally(() => process.exit(exitCode));
    });
  }
}
