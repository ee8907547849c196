import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BrowserNotFoundError, CHROMIUM_ENV, chooseChromium, SYSTEM_CHROMIUM_FLAGS } from './browser.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-browser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, mode: number): string {
  const p = path.join(dir, name);
  writeFileSync(p, '#!/bin/sh\n');
  chmodSync(p, mode);
  return p;
}
const exe = file('chromium', 0o755);
const other = file('chrome', 0o755);
const notExe = file('not-executable', 0o644);
const missing = path.join(dir, 'missing');

describe('chooseChromium', () => {
  test('SHIPGATE_CHROMIUM wins over the config, and gets the quiet flags (plus --no-sandbox as root)', () => {
    const choice = chooseChromium(
      { executablePath: other, args: ['--lang=en'] },
      { env: { [CHROMIUM_ENV]: exe }, isRoot: true },
    );
    expect(choice.source).toBe('env');
    expect(choice.launchOptions.executablePath).toBe(exe);
    expect(choice.launchOptions.args).toEqual(['--lang=en', ...SYSTEM_CHROMIUM_FLAGS, '--no-sandbox']);
  });

  test('launchOptions.executablePath is used when the env var is not set; no --no-sandbox when not root', () => {
    const choice = chooseChromium({ executablePath: other, headless: true }, { env: {}, isRoot: false });
    expect(choice).toMatchObject({ source: 'config', executablePath: other });
    expect(choice.launchOptions).toMatchObject({ headless: true, args: [...SYSTEM_CHROMIUM_FLAGS] });
  });

  test('flags already given are not repeated', () => {
    const choice = chooseChromium(
      { args: ['--no-first-run', '--no-sandbox'] },
      { env: { [CHROMIUM_ENV]: exe }, isRoot: true },
    );
    expect(choice.launchOptions.args?.filter((a) => a === '--no-first-run')).toHaveLength(1);
    expect(choice.launchOptions.args?.filter((a) => a === '--no-sandbox')).toHaveLength(1);
  });

  test('Playwright’s own browser, when installed, is left alone', () => {
    const base = { args: ['--x'] };
    const choice = chooseChromium(base, { env: {}, bundledPath: exe, candidates: [other] });
    expect(choice).toEqual({ launchOptions: base, source: 'playwright' });
  });

  test('otherwise the first system Chromium that exists', () => {
    const choice = chooseChromium(
      {},
      { env: {}, bundledPath: missing, candidates: [missing, notExe, other], isRoot: false },
    );
    expect(choice).toMatchObject({ source: 'system', executablePath: other });
    expect(choice.launchOptions.args).toEqual([...SYSTEM_CHROMIUM_FLAGS]);
  });

  test('a SHIPGATE_CHROMIUM that does not exist is an error naming the variable and the value, never a fallback', () => {
    const run = () => chooseChromium({}, { env: { [CHROMIUM_ENV]: missing }, candidates: [exe] });
    expect(run).toThrow(BrowserNotFoundError);
    expect(run).toThrow(`${CHROMIUM_ENV} is "${missing}", which does not exist.`);
    expect(() => chooseChromium({}, { env: { [CHROMIUM_ENV]: notExe } })).toThrow('which is not executable');
    expect(() => chooseChromium({}, { env: { [CHROMIUM_ENV]: dir } })).toThrow('which is not a file');
  });

  test('a config path that does not exist names the config key', () => {
    expect(() => chooseChromium({ executablePath: missing }, { env: {}, candidates: [exe] })).toThrow(
      `use.launchOptions.executablePath is "${missing}", which does not exist.`,
    );
  });

  test('nothing found: one error listing what was tried and how to fix it', () => {
    let error: unknown;
    try {
      chooseChromium({}, { env: {}, bundledPath: missing, candidates: [missing, notExe] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BrowserNotFoundError);
    expect((error as BrowserNotFoundError).code).toBe('SHIPGATE_NO_BROWSER');
    expect((error as Error).message).toContain(`Playwright's own browser is not installed (${missing})`);
    expect((error as Error).message).toContain(`none of ${missing}, ${notExe} exists`);
    expect((error as Error).message).toContain(`set ${CHROMIUM_ENV}=/path/to/chromium`);
  });

  test('on this machine: Debian’s chromium is found', () => {
    const choice = chooseChromium({}, { env: {}, bundledPath: missing });
    expect(choice.source).toBe('system');
    expect(choice.executablePath).toBe('/usr/bin/chromium');
  });
});
