/**
 * No secret in any output (issue 14 #7). A real child Vitest run fails with a URL password and a
 * configured token in its messages; `shipgate report` renders every sink with a webhook URL that
 * does not parse. No output file, record file or console line may hold any of the three.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { configuredSecrets, redactSecrets } from '../plugins/core/redact.ts';

const root = path.resolve(import.meta.dirname, '..');
const PASSWORD = 'S3cret-Passw0rd-4-db';
const TOKEN = 'tok_live_9f8e7d6c5b4a';
const WEBHOOK = 'not a url/services/T0/B0/hook-secret-0123456789';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('secrets: none in any sink, record or console line', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    ...process.env,
    CI: 'true',
    NO_COLOR: '1',
    SHIPGATE_REPORT_DIR: dir,
    REPORT_FIXTURE: 'leaks-secret.fixture.ts',
    LEAK_PASSWORD: PASSWORD,
    MY_API_TOKEN: TOKEN,
    SHIPGATE_WEBHOOK_URL: WEBHOOK,
  };

  test('a failing run with secrets in its messages: every output has *** in their place', () => {
    const vitest = spawnSync(
      path.join(root, 'node_modules/.bin/vitest'),
      ['run', '--config', 'specs/fixtures-vitest/report.config.ts'],
      { cwd: root, env, encoding: 'utf8' },
    );
    expect(vitest.status, vitest.stdout + vitest.stderr).toBe(1);
    const report = spawnSync(process.execPath, [path.join(root, 'plugins/cli/shipgate.ts'), 'report', dir], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    const consoleOut = report.stdout + report.stderr;
    expect(report.status, consoleOut).toBe(2);
    expect(consoleOut).toMatch(/^shipgate: 1 passed, 2 failed, 0 skipped$/m);
    // The webhook that does not parse is reported, without its URL.
    expect(consoleOut).toMatch(/webhook/i);

    const outputs = files(dir);
    const names = outputs.map((f) => path.relative(dir, f)).sort();
    for (const sink of ['ctrf.json', 'index.html', 'junit.xml', 'report.json', 'summary.md']) {
      expect(names).toContain(sink);
    }
    expect(names.some((n) => n.startsWith('records/'))).toBe(true);
    const leaks: string[] = [];
    for (const [where, text] of [
      ...outputs.map((f) => [path.relative(dir, f), readFileSync(f, 'utf8')] as const),
      ['console', consoleOut] as const,
    ]) {
      for (const secret of [PASSWORD, TOKEN, 'hook-secret-0123456789']) {
        if (text.includes(secret)) leaks.push(`${where}: ${secret}`);
      }
    }
    expect(leaks).toEqual([]);
    // The failures are still there, with the secret masked.
    expect(readFileSync(path.join(dir, 'junit.xml'), 'utf8')).toContain('postgres://app:***@127.0.0.1:1/app');
    expect(readFileSync(path.join(dir, 'ctrf.json'), 'utf8')).toContain('Bearer ***');
  });

  test('redactSecrets: URL passwords anywhere, configured secrets by name, short values only inside URLs', () => {
    const secrets = configuredSecrets({
      SHIPGATE_DATABASE_URL: 'postgres://u:longpassword1@h/db',
      PGPASSWORD: 'pw',
      GITHUB_TOKEN: 'ghp_abcdefghijkl',
      PATH: '/usr/bin',
    });
    expect(secrets).toEqual(['ghp_abcdefghijkl', 'longpassword1']);
    expect(redactSecrets('a https://x:y@host/p and b=longpassword1 and ghp_abcdefghijkl; pw stays', secrets)).toBe(
      'a https://x:***@host/p and b=*** and ***; pw stays',
    );
  });
});
