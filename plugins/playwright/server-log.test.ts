import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { isFailure, ServerLog, traceIdOf } from './server-log.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (o: object) => `${JSON.stringify(o)}\n`;

test('lines split across chunks are joined; JSON lines are parsed; everything lands in the file', async () => {
  const log = new ServerLog(path.join(dir, 'a', 'server.log'));
  log.write('stdout', '{"event":"listening",');
  log.write('stdout', '"port":4000}\nplain text line\r\n{"broken json\n');
  log.write('stderr', 'partial without newline');
  expect(log.since(0).map((e) => [e.seq, e.stream, e.text, e.json])).toEqual([
    [1, 'stdout', '{"event":"listening","port":4000}', { event: 'listening', port: 4000 }],
    [2, 'stdout', 'plain text line', undefined],
    [3, 'stdout', '{"broken json', undefined],
  ]);
  await log.close();
  expect(readFileSync(log.file, 'utf8')).toBe(
    '{"event":"listening","port":4000}\nplain text line\n{"broken json\npartial without newline\n',
  );
});

test('mark/since, trace id lookup, failures', async () => {
  const log = new ServerLog(path.join(dir, 'b.log'));
  log.write('stdout', line({ level: 'info', msg: 'request', traceId: 'aaa', status: 200 }));
  const mark = log.mark();
  log.write('stdout', line({ level: 'info', msg: 'request', traceId: 'bbb', status: 200 }));
  log.write('stdout', line({ level: 'error', msg: 'request', traceId: 'ccc', status: 500 }));
  log.write('stdout', line({ level: 'info', msg: 'job.done', trace_id: 'ccc' }));
  log.write('stderr', 'Error: something broke for request ccc\n');
  log.write('stdout', line({ level: 'warn', msg: 'request', requestId: 'ddd', status: 404 }));
  expect(log.since(mark).map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);
  expect(log.withTraceIds(['ccc'], mark).map((e) => e.seq)).toEqual([3, 4, 5]);
  expect(log.withTraceIds(['aaa'], mark)).toEqual([]);
  expect(log.withTraceIds(['aaa']).map((e) => e.seq)).toEqual([1]);
  expect(log.withTraceIds([])).toEqual([]);
  expect(
    log
      .since(mark)
      .filter(isFailure)
      .map((e) => e.seq),
  ).toEqual([3, 5]);
  expect(log.since(0).map(traceIdOf)).toEqual(['aaa', 'bbb', 'ccc', 'ccc', undefined, 'ddd']);
  expect(log.tail(2)).toEqual([
    'Error: something broke for request ccc',
    line({ level: 'warn', msg: 'request', requestId: 'ddd', status: 404 }).trim(),
  ]);
  await log.close();
});

test('waitFor resolves on the first matching line and rejects after its timeout', async () => {
  const log = new ServerLog(path.join(dir, 'c.log'));
  const ready = log.waitFor((e) => e.json?.event === 'listening', 1_000);
  log.write('stdout', 'booting\n');
  log.write('stdout', line({ event: 'listening', port: 1234 }));
  expect((await ready).json).toEqual({ event: 'listening', port: 1234 });
  await expect(log.waitFor(() => false, 20)).rejects.toThrow('no matching log line within 20 ms');
  // With `since`, a line that already came counts.
  expect((await log.waitFor((e) => e.text === 'booting', 20, 0)).seq).toBe(1);
  await expect(log.waitFor((e) => e.text === 'booting', 20, 1)).rejects.toThrow('within 20 ms');
  await log.close();
});
