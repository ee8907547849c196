import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from '../../fixtures/chaos.ts';
import { ChaosError } from '../../plugins/chaos/guard.ts';
import { startHttpFaults } from '../../plugins/chaos/http-faults.ts';
import { startTcpProxy } from '../../plugins/chaos/tcp-proxy.ts';
import { childPrefix, dropPrefix, runChild } from '../child-vitest.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** Runs `fn` with NODE_ENV set to `value`, restoring it afterwards. */
async function withNodeEnv<T>(value: string, fn: () => Promise<T> | T): Promise<T> {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = value;
  try {
    return await fn();
  } finally {
    process.env.NODE_ENV = before;
  }
}

/** What `fn` throws (fails the test when it does not). */
async function thrown(fn: () => unknown): Promise<ChaosError> {
  try {
    await fn();
  } catch (err) {
    return err as ChaosError;
  }
  throw new Error('expected a ChaosError, nothing was thrown');
}

describe('chaos is test-only: NODE_ENV=production refuses it', () => {
  test('starting a TCP proxy or an HTTP fault injector is refused, with the reason and the fix', async () => {
    for (const env of ['production', ' Production ']) {
      const tcp = await withNodeEnv(env, () => thrown(() => startTcpProxy({ target: '127.0.0.1:5432' })));
      expect(tcp).toBeInstanceOf(ChaosError);
      expect(tcp.code).toBe('SHIPGATE_CHAOS_PRODUCTION');
      expect(tcp.message).toBe(
        `Chaos fault injection "tcp-proxy" refused: NODE_ENV is "${env}". Chaos is test-only; run it with NODE_ENV=test (or unset), never in a production process.`,
      );
      const http = await withNodeEnv(env, () => thrown(() => startHttpFaults({ handler: () => {} })));
      expect(http.code).toBe('SHIPGATE_CHAOS_PRODUCTION');
      expect(http.message).toContain('Chaos fault injection "http-faults" refused: NODE_ENV is');
    }
  });

  test('a proxy started earlier refuses every new fault once NODE_ENV is production', async ({ chaos }) => {
    const faults = await chaos.http({ handler: (_q, s) => s.end('ok') });
    const refused = await withNodeEnv('production', async () => [
      await thrown(() => chaos.db.latency({ ms: 10 })),
      await thrown(() => chaos.db.bandwidth({ bytesPerSecond: 10 })),
      await thrown(() => chaos.db.down()),
      await thrown(() => chaos.db.reset()),
      await thrown(() => chaos.db.drop()),
      await thrown(() => chaos.db.loseReply('x')),
      await thrown(() => faults.error(500)),
      await thrown(() => faults.rateLimit(1)),
      await thrown(() => faults.latency(1)),
      await thrown(() => faults.down()),
    ]);
    expect(refused.map((e) => e.code)).toEqual(Array(10).fill('SHIPGATE_CHAOS_PRODUCTION'));
    expect(refused[0]?.message).toContain('"db proxy for');
    // Nothing was applied: traffic still flows untouched.
    expect(chaos.db.isDown).toBe(false);
    expect(await (await fetch(faults.url)).text()).toBe('ok');
  });

  test('a production process importing the chaos module cannot start a proxy', () => {
    const res = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { startTcpProxy } = await import('./plugins/chaos/index.ts'); await startTcpProxy({ target: '127.0.0.1:5432' }); console.log('STARTED');",
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' }, timeout: 30_000 },
    );
    expect(res.status, res.stderr).toBe(1);
    expect(res.stdout).not.toContain('STARTED');
    expect(res.stderr).toContain('Chaos fault injection "tcp-proxy" refused: NODE_ENV is "production"');
  });

  test('the Vitest chaos fixture fails the test under NODE_ENV=production', async ({ shipgate }) => {
    const prefix = childPrefix();
    try {
      const run = await runChild(
        ['run', '--config', 'specs/chaos/fixtures/vitest.config.ts', 'production.fixture.ts'],
        {
          NODE_ENV: 'production',
          SHIPGATE_PROVIDER: 'external',
          SHIPGATE_DATABASE_URL: shipgate.adminUrl,
          SHIPGATE_DB_PREFIX: prefix,
        },
      );
      expect(run.code, run.output).toBe(1);
      expect(run.output).toContain('Chaos fault injection "db proxy for');
      expect(run.output).toContain('refused: NODE_ENV is "production"');
      expect(run.output).toMatch(/1 failed/);
    } finally {
      await dropPrefix(shipgate.adminUrl, shipgate.major, prefix);
    }
  });
});
