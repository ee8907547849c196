import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, describe, expect, onTestFinished, test, vi } from 'vitest';
import { embeddedSweepAfterMs } from '../plugins/core/config.ts';
import { ConfigError } from '../plugins/core/errors.ts';
import { sweepStaleDataDirs } from '../plugins/postgres/embedded.ts';

/**
 * The sweep of embedded data dirs left by crashed runs (issue 14 #11): it looks in the
 * configured SHIPGATE_EMBEDDED_DIR too, takes its age from SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES,
 * logs each removal, and says under DEBUG=shipgate:* why it left a dir alone. Real dirs, a real
 * dead pid (a child that has exited) and this process's live pid.
 */

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function setEnv(name: string, value: string): void {
  const saved = process.env[name];
  process.env[name] = value;
  onTestFinished(() => {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  });
}

/** Debug lines of `shipgate:*` while the test runs. */
function debugLines(): string[] {
  const lines: string[] = [];
  const saved = { log: createDebug.log, namespaces: createDebug.disable() };
  createDebug.enable('shipgate:*');
  createDebug.log = (...args: unknown[]) => {
    lines.push(format(...args));
  };
  onTestFinished(() => {
    createDebug.log = saved.log;
    createDebug.enable(saved.namespaces);
  });
  return lines;
}

function stderrLines(): string[] {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.includes('shipgate: embedded:')) lines.push(text);
    else (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    return true;
  });
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sweepStaleDataDirs', () => {
  test('sweeps SHIPGATE_EMBEDDED_DIR by SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES; logs removals, and why others stay under DEBUG', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'shipgate-sweep-'));
    onTestFinished(() => rmSync(parent, { recursive: true, force: true }));
    const dead = deadPid();
    const old = path.join(parent, `shipgate-pg-${dead}-oldold`);
    const young = path.join(parent, `shipgate-pg-${dead}-younga`);
    const alive = path.join(parent, `shipgate-pg-${process.pid}-alivea`);
    const notOurs = path.join(parent, 'shipgate-pg-backup');
    for (const d of [old, young, alive, notOurs]) mkdirSync(path.join(d, 'data'), { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    for (const d of [old, alive, notOurs]) utimesSync(d, twoHoursAgo, twoHoursAgo);

    setEnv('SHIPGATE_EMBEDDED_DIR', parent);
    setEnv('SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES', '30');
    const debug = debugLines();
    const stderr = stderrLines();
    // Defaults only: the parent comes from SHIPGATE_EMBEDDED_DIR, the age from the setting.
    const removed = await sweepStaleDataDirs();
    expect(removed.filter((d) => d.startsWith(parent))).toEqual([old]);
    expect(existsSync(old)).toBe(false);
    for (const d of [young, alive, notOurs]) expect(existsSync(d), d).toBe(true);
    expect(stderr.filter((l) => l.includes(parent))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^shipgate: embedded: removed "${old}", left by run ${dead}, which is gone \\(1[12]\\d\\.\\d min old\\)\\n$`,
        ),
      ),
    ]);
    const about = (dir: string) => debug.filter((l) => l.includes(`"${dir}"`));
    expect(about(young)).toEqual([
      expect.stringMatching(
        /kept ".*younga": run \d+ is gone but the dir is 0\.\d min old, under 30\.0 min \(SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES\)/,
      ),
    ]);
    expect(about(alive)).toEqual([expect.stringContaining(`its run ${process.pid} is alive`)]);
    expect(about(notOurs)).toEqual([expect.stringContaining('no owner pid in its name')]);

    // At 0 minutes the young dir of the dead run goes too; the live run's dir never does.
    setEnv('SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES', '0');
    expect(await sweepStaleDataDirs(undefined, [parent])).toEqual([young]);
    expect(existsSync(alive)).toBe(true);
  });

  test('a bad SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES is a ConfigError naming it', () => {
    expect(embeddedSweepAfterMs({})).toBe(10 * 60_000);
    expect(embeddedSweepAfterMs({ SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES: '45' })).toBe(45 * 60_000);
    expect(() => embeddedSweepAfterMs({ SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES: 'soon' })).toThrow(ConfigError);
    expect(() => embeddedSweepAfterMs({ SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES: '-5' })).toThrow(
      'SHIPGATE_EMBEDDED_SWEEP_AFTER_MINUTES is "-5"; expected a whole number from 0 to 525600',
    );
  });
});
