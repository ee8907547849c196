/**
 * The frontend parser on hand-built protocol bytes: every way a client can split, merge and
 * name its messages. The same parser on real drivers is in specs/queries/capture.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { FrontendParser } from './pg-frames.ts';

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const startup = () => {
  const body = Buffer.concat([int32(196608), cstr('user'), cstr('app'), Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
};
const msg = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
const Q = (sql: string) => msg('Q', cstr(sql));
const P = (name: string, sql: string) => msg('P', Buffer.concat([cstr(name), cstr(sql), Buffer.from([0, 0])]));
const B = (portal: string, statement: string) =>
  msg('B', Buffer.concat([cstr(portal), cstr(statement), Buffer.from([0, 0, 0, 0, 0, 0])]));
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
/** A Bind with parameter format codes and values (a string, null for NULL, a Buffer as sent). */
const Bparams = (portal: string, statement: string, formats: number[], values: (string | Buffer | null)[]) =>
  msg(
    'B',
    Buffer.concat([
      cstr(portal),
      cstr(statement),
      int16(formats.length),
      ...formats.map(int16),
      int16(values.length),
      ...values.map((v) => {
        if (v === null) return int32(-1);
        const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
        return Buffer.concat([int32(bytes.length), bytes]);
      }),
      int16(0),
    ]),
  );
const E = (portal: string) => msg('E', Buffer.concat([cstr(portal), int32(0)]));
const S = () => msg('S', Buffer.alloc(0));
const texts = (p: FrontendParser, ...chunks: Buffer[]) => chunks.flatMap((c) => p.push(c)).map((s) => s.text);

describe('the frontend parser', () => {
  test('a simple query after the startup message, in one chunk or split byte by byte', () => {
    const bytes = Buffer.concat([startup(), Q('select 1'), Q('select ünïcode')]);
    expect(texts(new FrontendParser(), bytes)).toEqual(['select 1', 'select ünïcode']);
    const p = new FrontendParser();
    const split = [...bytes].map((b) => Buffer.from([b]));
    expect(texts(p, ...split)).toEqual(['select 1', 'select ünïcode']);
  });

  test('extended protocol: each Execute counts, with the text of the statement its portal was bound to', () => {
    const p = new FrontendParser();
    const out = texts(
      p,
      startup(),
      // unnamed statement, as node-postgres sends a parameterised query
      Buffer.concat([P('', 'select $1'), B('', ''), E(''), S()]),
      // a named statement parsed once, then bound and executed twice without a Parse
      Buffer.concat([P('s1', 'select * from t where id = $1'), B('', 's1'), E(''), S()]),
      Buffer.concat([B('', 's1'), E(''), S(), B('', 's1'), E(''), S()]),
    );
    expect(out).toEqual([
      'select $1',
      'select * from t where id = $1',
      'select * from t where id = $1',
      'select * from t where id = $1',
    ]);
    expect(
      p.push(Buffer.concat([msg('C', Buffer.concat([Buffer.from('S'), cstr('s1')])), B('', 's1'), E('')])),
    ).toEqual([{ text: '', protocol: 'extended' }]);
  });

  test("an Execute carries its portal's Bind parameters: text as strings, NULL as null, binary as undefined", () => {
    const p = new FrontendParser();
    const sql = 'select * from t where a = $1 and b = $2 and c = $3';
    const out = [
      startup(),
      P('s2', sql),
      // one format code per value: text, text (NULL), binary
      Bparams('', 's2', [0, 0, 1], ['ünï', null, int32(7)]),
      E(''),
      // no format codes: every value is text
      Bparams('', 's2', [], ['1', '', null]),
      E(''),
      // one format code: it applies to every value
      Bparams('', 's2', [1], [int32(1), null, int32(3)]),
      E(''),
      // a named portal, bound then executed after another Bind of the unnamed one
      Bparams('p1', 's2', [0], ['x', 'y', 'z']),
      Bparams('', 's2', [0], ['q', 'r', 's']),
      E('p1'),
      S(),
    ].flatMap((b) => p.push(b));
    // strict: an undefined (binary) entry must be there, not left out
    expect(out).toStrictEqual([
      { text: sql, protocol: 'extended', params: ['ünï', null, undefined] },
      { text: sql, protocol: 'extended', params: ['1', '', null] },
      { text: sql, protocol: 'extended', params: [undefined, null, undefined] },
      { text: sql, protocol: 'extended', params: ['x', 'y', 'z'] },
    ]);
    // a statement without parameters, or a Bind too short for what it declares, carries none
    const short = msg('B', Buffer.concat([cstr(''), cstr('s2'), int16(0), int16(2), int32(5), Buffer.from('ab')]));
    expect(p.push(Buffer.concat([B('', 's2'), E(''), short, E(''), Q('select 1')]))).toEqual([
      { text: sql, protocol: 'extended' },
      { text: sql, protocol: 'extended' },
      { text: 'select 1', protocol: 'simple' },
    ]);
  });

  test('a large CopyData message is skipped across chunks; the query after it is read', () => {
    const p = new FrontendParser();
    const copy = msg('d', Buffer.alloc(200_000, 0x41));
    const bytes = Buffer.concat([startup(), Q('copy t from stdin'), copy, msg('c', Buffer.alloc(0)), Q('select 2')]);
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 65_536) chunks.push(bytes.subarray(i, i + 65_536));
    expect(texts(p, ...chunks)).toEqual(['copy t from stdin', 'select 2']);
  });

  test('TLS after an SSLRequest makes the connection opaque; a refused SSLRequest is read on', () => {
    const ssl = Buffer.concat([int32(8), int32(80877103)]);
    const tls = new FrontendParser();
    expect(texts(tls, ssl, Buffer.from([0x16, 3, 1, 0, 5]), Q('select 1'))).toEqual([]);
    expect(tls.opaque).toBe(true);
    const plain = new FrontendParser();
    expect(texts(plain, ssl, startup(), Q('select 1'))).toEqual(['select 1']);
    expect(plain.opaque).toBe(false);
  });

  test('bytes that are not Postgres are opaque, never an exception', () => {
    const p = new FrontendParser();
    expect(texts(p, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toEqual([]);
    expect(p.opaque).toBe(true);
    const q = new FrontendParser();
    expect(texts(q, startup(), Buffer.from([0x51, 0, 0, 0, 1]))).toEqual([]);
    expect(q.opaque).toBe(true);
  });
});
