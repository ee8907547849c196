import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { type Reapable, registerReapable } from './reaper.ts';

/**
 * The reaper may run as root and deletes what its state file names, so the file must be one
 * no other user can plant or rewrite (issue 14 #6). Each case runs the real reaper process on
 * a real victim dir named like an embedded server dir, and checks the dir after it exits.
 * No database is needed.
 */

const reaperProcess = path.join(import.meta.dirname, 'reaper-process.ts');
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const cleanup: string[] = [];
afterEach(() => {
  for (const p of cleanup.splice(0)) rmSync(p, { recursive: true, force: true });
});

/** The pid of a process that has exited: a `node -e ''` child, awaited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  await new Promise((resolve) => child.once('exit', resolve));
  if (!pid) throw new Error('no pid for the child');
  return pid;
}

/** A `shipgate-pg-…` dir (or `name…`) holding a data dir with a dead postmaster.pid. */
async function victimDir(name = 'shipgate-pg-reaper-test-'): Promise<Reapable & { kind: 'process' }> {
  const dir = mkdtempSync(path.join(tmpdir(), name));
  cleanup.push(dir);
  mkdirSync(path.join(dir, 'data'));
  const pidFile = path.join(dir, 'data', 'postmaster.pid');
  writeFileSync(pidFile, `${await deadPid()}\n/tmp/x\n`);
  return { kind: 'process', pidFile, dirs: [dir] };
}

/** A private state dir (0700) holding `state.json` (0600) as reaper.ts writes it. */
function stateDir(parent: number, resources: unknown[]): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-reaper-'));
  cleanup.push(dir);
  chmodSync(dir, 0o700);
  const file = path.join(dir, 'state.json');
  writeFileSync(file, JSON.stringify({ parent, resources }), { mode: 0o600 });
  return { dir, file };
}

function runReaper(parent: number, file: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [reaperProcess, String(parent), file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

/** State files in the temp dir, old fixed name or new private dir, that list `pidFile`. */
function stateFilesListing(pidFile: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith('shipgate-reaper-'))) {
    const p = path.join(tmpdir(), name);
    const file = lstatSync(p).isDirectory() ? path.join(p, 'state.json') : p;
    try {
      if (readFileSync(file, 'utf8').includes(JSON.stringify(pidFile))) out.push(file);
    } catch {
      // Not a readable state file.
    }
  }
  return out;
}

async function watcherRunning(stateFile: string): Promise<boolean> {
  const child = spawn('pgrep', ['-f', stateFile], { stdio: 'ignore' });
  return (await new Promise((resolve) => child.once('exit', resolve))) === 0;
}

const mode = (p: string) => lstatSync(p).mode & 0o7777;

describe('registerReapable: the state file', () => {
  test('is state.json (0600) in a private 0700 dir of ours, not /tmp/shipgate-reaper-<pid>.json; dir and watcher go after the last unregister', async () => {
    const marker = path.join(tmpdir(), `no-such-${process.pid}-${Date.now()}.pid`);
    const unreap = registerReapable({ kind: 'process', pidFile: marker, dirs: [] });
    let files: string[];
    try {
      files = stateFilesListing(marker);
      expect(files).toHaveLength(1);
      const [file = ''] = files;
      expect(file).not.toBe(path.join(tmpdir(), `shipgate-reaper-${process.pid}.json`));
      const dir = path.dirname(file);
      expect(dir).not.toBe(tmpdir());
      expect(path.basename(dir)).toMatch(/^shipgate-reaper-.{6}$/);
      const st = lstatSync(dir);
      expect(st.isDirectory() && !st.isSymbolicLink()).toBe(true);
      expect(st.uid).toBe(process.getuid?.());
      expect(mode(dir)).toBe(0o700);
      expect(lstatSync(file).isFile()).toBe(true);
      expect(lstatSync(file).uid).toBe(process.getuid?.());
      expect(mode(file)).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
        parent: process.pid,
        resources: [{ kind: 'process', pidFile: marker, dirs: [] }],
      });
      expect(readdirSync(dir)).toEqual(['state.json']);
      expect(await watcherRunning(file)).toBe(true);
    } finally {
      unreap();
    }
    const [file = ''] = files;
    expect(existsSync(file)).toBe(false);
    expect(existsSync(path.dirname(file))).toBe(false);
    // The watcher for that dir sees it gone and exits, so cycles do not pile up watchers.
    for (let i = 0; i < 50 && (await watcherRunning(file)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await watcherRunning(file)).toBe(false);
  });

  test('a look-alike pre-created at the old fixed path is neither written to nor followed', () => {
    const old = path.join(tmpdir(), `shipgate-reaper-${process.pid}.json`);
    const victim = path.join(mkdtempSync(path.join(tmpdir(), 'shipgate-reaper-test-victim-')), 'root-owned.conf');
    cleanup.push(old, `${old}.tmp`, path.dirname(victim));
    writeFileSync(old, 'planted by another user');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, `${old}.tmp`);
    const marker = path.join(tmpdir(), `no-such-${process.pid}-${Date.now()}.pid`);
    const unreap = registerReapable({ kind: 'process', pidFile: marker, dirs: [] });
    unreap();
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(`${old}.tmp`).isSymbolicLink()).toBe(true);
    expect(lstatSync(old).isFile()).toBe(true);
    expect(readFileSync(old, 'utf8')).toBe('planted by another user');
  });
});

describe('reaper-process', () => {
  test('reaps a valid state after its parent died: removes the shipgate-pg- dir, then its state dir', async () => {
    const victim = await victimDir();
    const parent = await deadPid();
    const state = stateDir(parent, [victim]);
    const run = await runReaper(parent, state.file);
    expect(run).toEqual({ code: 0, stderr: '' });
    expect(existsSync(victim.dirs[0] ?? '')).toBe(false);
    expect(existsSync(state.dir)).toBe(false);
  });

  test('a SIGKILLed parent: the watcher it spawned reaps its server dir and the state dir', async () => {
    const victim = await victimDir();
    const script = `
      const m = await import(${JSON.stringify(pathToFileURL(path.join(import.meta.dirname, 'reaper.ts')).href)});
      m.registerReapable(${JSON.stringify(victim)});
      console.log('READY ' + JSON.stringify(m.reaperStateFile?.() ?? null));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out);
      });
    });
    const file = JSON.parse(line.replace(/^READY /, '')) as string | null;
    child.kill('SIGKILL');
    const dir = victim.dirs[0] ?? '';
    for (let i = 0; i < 100 && existsSync(dir); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(dir), `${dir} still exists 10 s after SIGKILL`).toBe(false);
    expect(file).toEqual(expect.any(String));
    for (let i = 0; i < 20 && existsSync(path.dirname(file ?? '')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(path.dirname(file ?? ''))).toBe(false);
  });

  type Setup = (s: { dir: string; file: string }) => unknown;
  const refusals: [string, RegExp, Setup, boolean?][] = [
    [
      'the file is writable by group and others (0666)',
      /mode 0666, writable by group or others/,
      (s) => chmodSync(s.file, 0o666),
    ],
    ['the file is writable by group (0620)', /mode 0620/, (s) => chmodSync(s.file, 0o620)],
    ['the dir has mode 0777', /dir has mode 0777, not 0700/, (s) => chmodSync(s.dir, 0o777)],
    ['the dir has mode 0755', /dir has mode 0755/, (s) => chmodSync(s.dir, 0o755)],
    [
      'the state file is a symlink to a valid file',
      /file is a symlink/,
      (s) => {
        const real = path.join(s.dir, 'real.json');
        writeFileSync(real, readFileSync(s.file), { mode: 0o600 });
        rmSync(s.file);
        symlinkSync(real, s.file);
        return s.file;
      },
    ],
    [
      'the dir is a symlink to a valid private dir',
      /dir is a symlink/,
      (s) => {
        const link = `${s.dir}-link`;
        cleanup.push(link);
        symlinkSync(s.dir, link);
        return path.join(link, 'state.json');
      },
    ],
    [
      'the file has a second hard link',
      /2 hard links/,
      (s) => {
        linkSync(s.file, path.join(s.dir, 'other.json'));
        return s.file;
      },
    ],
    [
      'the file is owned by nobody',
      /file is owned by uid 65534, not 0/,
      (s) => chownSync(s.file, NOBODY, NOBODY),
      true,
    ],
    ['the dir is owned by nobody', /dir is owned by uid 65534, not 0/, (s) => chownSync(s.dir, NOBODY, NOBODY), true],
  ];

  test.each(refusals)('removes nothing when %s', async (_name, reason, setup, rootOnly) => {
    if (rootOnly && !isRoot) return;
    const victim = await victimDir();
    const parent = await deadPid();
    const state = stateDir(parent, [victim]);
    const returned = setup(state);
    const file = typeof returned === 'string' ? returned : state.file;
    const run = await runReaper(parent, file);
    expect(existsSync(victim.pidFile), 'the victim dir was removed').toBe(true);
    expect(existsSync(state.file), 'the state file was removed').toBe(true);
    expect(run.stderr).toMatch(reason);
    expect(run.stderr).toMatch(/^shipgate reaper: nothing removed for state file ".*": .*\n$/);
    expect(run.code).toBe(1);
  });

  const badContent: [string, RegExp, (v: Reapable & { kind: 'process' }, parent: number) => unknown][] = [
    [
      'a relative dir',
      /not an absolute normalised path/,
      (v) => ({ ...v, dirs: [path.relative(process.cwd(), v.dirs[0] ?? '')] }),
    ],
    [
      'a dir with ..',
      /not an absolute normalised path/,
      (v) => ({ ...v, dirs: [`${tmpdir()}/x/../${path.basename(v.dirs[0] ?? '')}`] }),
    ],
    ['an unknown kind', /unknown resource kind "rm-rf"/, (v) => ({ ...v, kind: 'rm-rf' })],
  ];

  test.each(badContent)('removes nothing when the content names %s', async (_name, reason, mutate) => {
    const victim = await victimDir();
    const other = await victimDir();
    const parent = await deadPid();
    const state = stateDir(parent, [other, mutate(victim, parent)]);
    const run = await runReaper(parent, state.file);
    expect(existsSync(victim.pidFile), 'the victim dir was removed').toBe(true);
    expect(existsSync(other.pidFile), 'the valid entry beside it was removed').toBe(true);
    expect(run.stderr).toMatch(reason);
    expect(run.code).toBe(1);
  });

  test('removes nothing when the content names another parent', async () => {
    const victim = await victimDir();
    const parent = await deadPid();
    const state = stateDir(parent + 1, [victim]);
    const run = await runReaper(parent, state.file);
    expect(existsSync(victim.pidFile), 'the victim dir was removed').toBe(true);
    expect(run.stderr).toMatch(new RegExp(`names parent ${parent + 1}, not ${parent}`));
  });

  test('a non-shipgate-pg victim is kept even where every other check passes', async () => {
    const victim = await victimDir('shipgate-victim-');
    const parent = await deadPid();
    const state = stateDir(parent, [victim]);
    const run = await runReaper(parent, state.file);
    expect(existsSync(victim.dirs[0] ?? ''), 'the victim dir was removed').toBe(true);
    expect(run.stderr).toMatch(/is not named shipgate-pg-…/);
    expect(run.code).toBe(1);
  });
});
