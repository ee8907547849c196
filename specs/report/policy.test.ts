import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { freePort } from '../../plugins/core/net.ts';
import { progress } from '../../plugins/core/progress.ts';
import { mergeReports } from '../../plugins/report/merge.ts';
import { exitCodeFor, parsePolicy, type ShipgateRecord } from '../../plugins/report/model.ts';
import { writeRecords } from '../../plugins/report/records.ts';
import { renderReport, resolveSinks } from '../../plugins/report/sinks/index.ts';
import { GITHUB_COMMENT_LIMIT, renderMarkdown } from '../../plugins/report/sinks/markdown.ts';
import { countRecords } from '../../plugins/report/summary.ts';
import { budgetRecord, migrationRecord } from './sample-records.ts';

const rec = (status: ShipgateRecord['status'], over: Partial<ShipgateRecord> = {}): ShipgateRecord => ({
  id: `test › x › ${status} ${Math.random()}`,
  kind: 'test',
  runner: 'vitest',
  name: status,
  suite: [],
  status,
  durationMs: 1,
  ...over,
});

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'shipgate-report-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Writes records as `producer` into `dir` (with an optional shard label). */
function emit(
  dir: string,
  records: ShipgateRecord[],
  shard?: string,
  errors: { source: string; message: string }[] = [],
) {
  const saved = { dir: process.env.SHIPGATE_REPORT_DIR, shard: process.env.SHIPGATE_SHARD };
  process.env.SHIPGATE_REPORT_DIR = dir;
  if (shard) process.env.SHIPGATE_SHARD = shard;
  else delete process.env.SHIPGATE_SHARD;
  try {
    writeRecords('vitest', records, { errors });
  } finally {
    process.env.SHIPGATE_REPORT_DIR = saved.dir;
    if (saved.dir === undefined) delete process.env.SHIPGATE_REPORT_DIR;
    if (saved.shard === undefined) delete process.env.SHIPGATE_SHARD;
    else process.env.SHIPGATE_SHARD = saved.shard;
  }
}

describe('one exit-code policy', () => {
  test.each([
    ['all passed', 0, [rec('passed'), rec('skipped')]],
    ['flaky only (not failing by default)', 0, [rec('passed'), rec('flaky')]],
    ['inconclusive', 3, [rec('passed'), rec('inconclusive')]],
    ['regression', 1, [rec('passed'), budgetRecord({ regression: true })]],
    ['regression beats inconclusive', 1, [rec('inconclusive'), budgetRecord({ regression: true })]],
    ['failed test', 2, [rec('failed')]],
    [
      'violated SLO wins over a regression',
      2,
      [budgetRecord({ status: 'failed' }), budgetRecord({ regression: true })],
    ],
    ['unsafe migration', 2, [migrationRecord()]],
  ] as const)('%s → exit %i', (_name, code, records) => {
    expect(exitCodeFor(records)).toBe(code);
  });

  test('a run error (crashed phase) is a failure', () => {
    expect(exitCodeFor([rec('passed')], [{ source: 'phase unit', message: 'crashed' }])).toBe(2);
  });

  test('the policy is configurable, and bad specs are rejected with the fix', () => {
    const lenient = parsePolicy('regression=0, inconclusive=0, flaky=2');
    expect(exitCodeFor([budgetRecord({ regression: true }), rec('inconclusive')], [], lenient)).toBe(0);
    expect(exitCodeFor([rec('flaky')], [], lenient)).toBe(2);
    expect(() => parsePolicy('regresion=0,failed=x')).toThrow(
      'Invalid exit policy "regresion=0,failed=x": unknown outcome "regresion" (known: failed, error, regression, inconclusive, flaky); "failed=x" needs an exit code from 0 to 255. Fix SHIPGATE_EXIT_POLICY or --policy.',
    );
  });

  test('the summary line counts what fails the run as failed', () => {
    const report = {
      records: [rec('passed'), rec('inconclusive'), budgetRecord({ regression: true }), rec('skipped')],
      errors: [],
    };
    const strict = countRecords(report as never, parsePolicy(undefined));
    expect([strict.passed, strict.failed, strict.skipped, strict.exitCode]).toEqual([1, 2, 1, 1]);
    const lenient = countRecords(report as never, parsePolicy('regression=0,inconclusive=0'));
    expect([lenient.passed, lenient.failed, lenient.skipped, lenient.exitCode]).toEqual([3, 0, 1, 0]);
  });
});

describe('merging shards', () => {
  test('directories of several shards merge; a missing shard is an error that fails the run', async () => {
    const a = tempDir();
    const c = tempDir();
    emit(a, [rec('passed'), rec('passed')], '1/3');
    emit(c, [rec('passed')], '3/3');
    const merged = mergeReports([a, c]);
    expect(merged.records).toHaveLength(3);
    expect(merged.shards).toEqual({ expected: 3, present: ['1/3', '3/3'], missing: ['2/3'] });
    expect(merged.errors).toEqual([
      { source: 'shipgate report', message: 'shard 2/3 is missing: no record files carry SHIPGATE_SHARD=2/3' },
    ]);
    const out: string[] = [];
    const code = await renderReport(merged, resolveSinks(['console']), { outDir: a, write: (t) => out.push(t) });
    expect(code).toBe(2);
    expect(out.join('')).toContain('✗ error in shipgate report: shard 2/3 is missing');
  });

  test('with all shards present there is no error', () => {
    const a = tempDir();
    const b = tempDir();
    emit(a, [rec('passed')], '1/2');
    emit(b, [rec('failed')], '2/2');
    const merged = mergeReports([a, b], { expectShards: 2 });
    expect(merged.shards.missing).toEqual([]);
    expect(merged.errors).toEqual([]);
  });

  test('an empty directory is a clear error', () => {
    const empty = tempDir();
    expect(() => mergeReports([empty])).toThrow(`No record files in "${empty}". Run the tests first`);
  });
});

describe('summary.md within GitHub limits', () => {
  test('5,000 failures are cut to fit 65,536 characters, with a pointer to the full report', () => {
    const d = tempDir();
    emit(
      d,
      Array.from({ length: 5000 }, (_, i) => rec('failed', { name: `test number ${i}`, message: 'x'.repeat(150) })),
    );
    const merged = mergeReports([d]);
    const md = renderMarkdown(
      merged,
      countRecords(merged, parsePolicy(undefined)),
      GITHUB_COMMENT_LIMIT,
      '[index.html](https://ci.example/report)',
    );
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md).toMatch(/_… \d+ more rows not shown \(GitHub's 65,536-character limit\)\._/);
    expect(md.trimEnd().endsWith('Full report: [index.html](https://ci.example/report).')).toBe(true);
  });
});

describe('sink failures and alerts', () => {
  test('a failing sink never breaks the run: the others still write, and it is a reporter error', async () => {
    const d = tempDir();
    emit(d, [rec('passed')]);
    const merged = mergeReports([d]);
    const broken = {
      name: 'broken',
      render: () => {
        throw new Error('disk full');
      },
    };
    const out: string[] = [];
    const code = await renderReport(merged, [...resolveSinks(['json']), broken, ...resolveSinks(['console'])], {
      outDir: d,
      write: (t) => out.push(t),
    });
    expect(code).toBe(0);
    expect(merged.reporterErrors).toEqual([{ sink: 'broken', message: 'disk full' }]);
    expect(out.join('')).toContain('! reporter error (broken): disk full');
    expect(out.join('').trimEnd().split('\n').at(-1)).toBe('shipgate: 1 passed, 0 failed, 0 skipped');
  });

  test('on failure a Slack-compatible alert reaches the webhook; on success none is sent', async () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ type: req.headers['content-type'], body: JSON.parse(body) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    try {
      const failing = tempDir();
      emit(failing, [rec('passed'), budgetRecord({ status: 'failed', message: 'p95 412 ms exceeds 200 ms' })]);
      await renderReport(mergeReports([failing]), resolveSinks(['alert']), {
        outDir: failing,
        env: { SHIPGATE_WEBHOOK_URL: url },
      });
      const passing = tempDir();
      emit(passing, [rec('passed')]);
      await renderReport(mergeReports([passing]), resolveSinks(['alert']), {
        outDir: passing,
        env: { SHIPGATE_WEBHOOK_URL: url },
      });
      expect(received).toHaveLength(1);
      const msg = received[0] as {
        type: string;
        body: { text: string; blocks: { type: string; text: { text: string } }[] };
      };
      expect(msg.type).toBe('application/json');
      expect(msg.body.text).toMatch(
        /^:x: shipgate failed \(exit code 2\): 1 passed, 1 failed, 0 skipped · commit [0-9a-f]{12}$/,
      );
      expect(msg.body.blocks[0]?.type).toBe('header');
      expect(msg.body.blocks[1]?.text.text).toContain(
        '• [budget] example reads › GET /api/tickets — p95Ms 8.9 ms / 200 ms',
      );
    } finally {
      server.close();
    }
  });

  test('an unreachable webhook is a reporter error, not a failed run', async () => {
    const d = tempDir();
    emit(d, [rec('failed')]);
    const merged = mergeReports([d]);
    const closed = await freePort(); // nothing listens there
    const code = await renderReport(merged, resolveSinks(['alert']), {
      outDir: d,
      env: { SHIPGATE_WEBHOOK_URL: `http://127.0.0.1:${closed}/hook` },
    });
    expect(code).toBe(2);
    expect(merged.reporterErrors[0]?.message).toMatch(/^webhook failed: .*ECONNREFUSED.* \(SHIPGATE_WEBHOOK_URL\)$/);
  });
});

describe('progress', () => {
  test('plain lines in CI, a live line on a TTY', () => {
    const plain = new PassThrough();
    let text = '';
    plain.on('data', (c) => (text += c));
    let t = 0;
    const p = progress('building the template', {
      stream: plain as unknown as NodeJS.WriteStream,
      live: false,
      now: () => t,
    });
    p.update('applying 2/3');
    t = 1500;
    p.done('shipgate_tpl_1');
    expect(text).toBe(
      'shipgate: building the template…\nshipgate: building the template — applying 2/3\nshipgate: building the template — shipgate_tpl_1 (1.5 s)\n',
    );
    const tty = new PassThrough();
    let live = '';
    tty.on('data', (c) => (live += c));
    const q = progress('seeding', { stream: tty as unknown as NodeJS.WriteStream, live: true, now: () => 0 });
    q.fail('boom');
    expect(live).toContain('\r\x1b[2K');
    expect(live.endsWith('✖ shipgate: seeding — failed: boom (0.0 s)\n')).toBe(true);
  });
});
