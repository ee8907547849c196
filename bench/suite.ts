/**
 * `pnpm bench:suite`: the wall time of `pnpm test` (`shipgate test` on the embedded provider),
 * idle and with a busy loop holding one core, as one JSON object on stdout.
 *
 * Each run spawns `node plugins/cli/shipgate.ts test` with SHIPGATE_PROVIDER=embedded and
 * times it. The pipeline prints `shipgate: phase <name>` to stderr when a phase starts; a
 * phase's wall time runs from its marker to the next one. Before the first marker is
 * `generate` (start-up and prisma generate). The pipeline prints nothing when the last
 * phase's runner exits, so `report` runs from the last output before the report's console
 * block (written in one piece, ending with the summary line) to the exit; the runner's exit
 * after its last line is counted in `report`.
 * The summary is the last line matching `shipgate: N passed, …`.
 *
 * The busy loop is a child `node` process spinning forever, pinned to CPU 0 with `taskset`
 * when it is available; it is killed after its run, and it exits by itself if this process
 * dies (it polls its parent pid), so none is left behind.
 *
 * Options: `--only idle|loaded`. Environment passes through (e.g. SHIPGATE_PHASES=budgets).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs, stripVTControlCharacters } from 'node:util';

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only;
if (only !== undefined && only !== 'idle' && only !== 'loaded') {
  process.stderr.write(`bench:suite: --only is "${only}"; expected idle or loaded.\n`);
  process.exit(64);
}
const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'plugins', 'cli', 'shipgate.ts');
const log = (line: string) => process.stderr.write(`bench:suite ${line}\n`);
const round2 = (v: number) => Math.round(v * 100) / 100;

const PHASE = /^shipgate: phase (\S+)/;
const SUMMARY = /^shipgate: \d+ passed, .*/;

interface Run {
  mode: 'idle' | 'loaded';
  wallS: number;
  exitCode: number | null;
  signal: string | null;
  summary?: string;
  /** Wall seconds per phase: generate, unit, budgets, e2e (those that ran), report. */
  phasesS: Record<string, number>;
  busyLoop?: { pid: number; pinnedToCpu?: number };
}

function busyLoop(): { child: ChildProcess; pinned?: number } {
  const code = 'const p=Number(process.argv[1]);for(let i=0;;i++)if((i&0xfffff)===0&&process.ppid!==p)process.exit(0)';
  const args = ['-e', code, String(process.pid)];
  const taskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  const child = taskset
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: 'ignore' })
    : spawn(process.execPath, args, { stdio: 'ignore' });
  return { child, ...(taskset ? { pinned: 0 } : {}) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function runSuite(mode: 'idle' | 'loaded'): Promise<Run> {
  const loop = mode === 'loaded' ? busyLoop() : undefined;
  try {
    if (loop) await new Promise((r) => setTimeout(r, 500));
    log(`${mode}: shipgate test${loop ? ` (busy loop pid ${loop.child.pid})` : ''}`);
    const t0 = performance.now();
    // [name, start ms]; the report starts when the last phase's runner exits (see the header).
    const marks: [string, number][] = [['generate', 0]];
    let summary: string | undefined;
    let lastOutputAt = 0;
    let reportAt: number | undefined;
    const child = spawn(process.execPath, [cli, 'test'], {
      cwd: root,
      // The repo's schema is example's (package.json's test script sets the same).
      env: { SHIPGATE_PRISMA_SCHEMA: 'example/prisma/schema.prisma', ...process.env, SHIPGATE_PROVIDER: 'embedded' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = (stream: NodeJS.ReadableStream, echo: NodeJS.WriteStream) => {
      let buf = '';
      stream.on('data', (b: Buffer) => {
        echo.write(b);
        const at = performance.now() - t0;
        buf += b.toString('utf8');
        let i = buf.indexOf('\n');
        while (i >= 0) {
          const line = stripVTControlCharacters(buf.slice(0, i));
          buf = buf.slice(i + 1);
          const phase = PHASE.exec(line)?.[1];
          if (phase) marks.push([phase, at]);
          else if (SUMMARY.test(line)) {
            summary = line.trim();
            reportAt ??= lastOutputAt;
          }
          i = buf.indexOf('\n');
        }
        if (reportAt === undefined) lastOutputAt = at;
      });
    };
    // The runner's output goes to this process's stderr, so stdout stays one JSON object.
    lines(child.stdout, process.stderr);
    lines(child.stderr, process.stderr);
    const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (code, sig) => resolve([code, sig])),
    );
    const wall = performance.now() - t0;
    const phasesS: Record<string, number> = {};
    const end = Math.max(reportAt ?? wall, (marks[marks.length - 1] as [string, number])[1]);
    for (const [k, [name, start]] of marks.entries()) {
      phasesS[name] = round2(((marks[k + 1]?.[1] ?? end) - start) / 1000);
    }
    phasesS.report = round2((wall - end) / 1000);
    return {
      mode,
      wallS: round2(wall / 1000),
      exitCode,
      signal,
      ...(summary ? { summary } : {}),
      phasesS,
      ...(loop
        ? {
            busyLoop: {
              pid: loop.child.pid as number,
              ...(loop.pinned !== undefined ? { pinnedToCpu: loop.pinned } : {}),
            },
          }
        : {}),
    };
  } finally {
    if (loop) await stop(loop.child);
  }
}

const modes = only ? [only as 'idle' | 'loaded'] : (['idle', 'loaded'] as const);
const runs: Run[] = [];
for (const mode of modes) runs.push(await runSuite(mode));
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'suite',
      command: 'SHIPGATE_PROVIDER=embedded node plugins/cli/shipgate.ts test',
      phasesEnv: process.env.SHIPGATE_PHASES ?? null,
      cores: availableParallelism(),
      runs,
    },
    null,
    2,
  )}\n`,
);
