import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { envValue, pick, SETTINGS, type SettingName } from '../plugins/core/settings.ts';

/**
 * The one configuration resolver (plugins/core/settings.ts): every SHIPGATE_* variable is in its
 * registry and in the README's table, no other shipped module reads one, and one precedence
 * (flag > env var > config key > default) holds.
 */

const root = path.resolve(import.meta.dirname, '..');
const shipped = ['plugins', 'fixtures'].flatMap((dir) =>
  readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name))),
);
const names = Object.keys(SETTINGS) as SettingName[];

describe('settings: one resolver for every SHIPGATE_* variable', () => {
  test('no shipped module but core/settings.ts reads a SHIPGATE_* variable from an environment', () => {
    // A read is `<any>env.SHIPGATE_X` or `<any>env[NAME_CONSTANT]` (process.env, env, childEnv,
    // baseEnv, …) not followed by an assignment; writes (a run id handed to child processes,
    // globalSetup's session) are allowed.
    const read = /(?<![\w.])(?:process\.env|\w*[eE]nv)(?:\.SHIPGATE_[A-Z0-9_]+\b|\[[A-Z_]+_ENV\])(?!\s*=[^=])/;
    const offenders = shipped
      .filter((f) => f !== 'plugins/core/settings.ts' && f !== 'plugins/k6/script.ts')
      .flatMap((f) =>
        readFileSync(path.join(root, f), 'utf8')
          .split('\n')
          .map((line, i) => ({ line, i }))
          .filter(({ line }) => !/^\s*(delete|\/\/|\*)/.test(line) && read.test(line))
          .map(({ i }) => `${f}:${i + 1}`),
      );
    expect(offenders).toEqual([]);
  });

  test("every variable in the registry is in the README's table", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Measured'));
    expect(names.filter((n) => !table.includes(n))).toEqual([]);
  });

  test('every variable in the registry is read somewhere (no dead settings)', () => {
    const code = shipped.map((f) => readFileSync(path.join(root, f), 'utf8')).join('\n');
    expect(names.filter((n) => !code.replace(/SETTINGS = \{[\s\S]*?\} as const/, '').includes(n))).toEqual([]);
  });

  test('an empty variable counts as unset', () => {
    expect(envValue('SHIPGATE_PROVIDER', { SHIPGATE_PROVIDER: '' })).toBeUndefined();
    expect(envValue('SHIPGATE_PROVIDER', { SHIPGATE_PROVIDER: 'embedded' })).toBe('embedded');
  });

  test('precedence: flag, then env var, then config key, then default', () => {
    const parse = (t: string) => `env:${t}`;
    const env = { SHIPGATE_PG_IMAGE: 'from-env' };
    expect(pick('SHIPGATE_PG_IMAGE', { flag: 'flag', config: 'config', fallback: 'default', parse }, env)).toBe('flag');
    expect(pick('SHIPGATE_PG_IMAGE', { config: 'config', fallback: 'default', parse }, env)).toBe('env:from-env');
    expect(pick('SHIPGATE_PG_IMAGE', { config: 'config', fallback: 'default', parse }, {})).toBe('config');
    expect(pick('SHIPGATE_PG_IMAGE', { fallback: 'default', parse }, {})).toBe('default');
  });
});
