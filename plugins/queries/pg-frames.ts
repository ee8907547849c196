/**
 * The statements a client sends, read from its side of a Postgres connection (protocol 3.0).
 * Passive: it never changes or holds the bytes, only reads them as they are forwarded.
 *
 * What counts as one statement run:
 * - a simple query (`Q`), whatever it holds;
 * - an `Execute` (`E`) of a portal, with the text of the statement the portal was bound to:
 *   a client that prepares a named statement once (`P`) and then only binds and executes it
 *   (`B`/`E`) runs it each time, so counting `P` would undercount.
 *
 * An extended statement carries the parameters of its portal's Bind: text-format values as
 * strings, NULL as null, binary-format values as undefined (their bytes are only meaningful
 * with the parameter's type, which this side does not know).
 *
 * A connection that starts TLS (`SSLRequest` answered with a handshake) or GSS encryption is
 * unreadable from here; it is marked opaque, and its statements are not seen.
 */

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** A TLS record starts with 0x16 (handshake). */
const TLS_HANDSHAKE = 0x16;

/** One statement run on a connection. */
export interface FrameStatement {
  text: string;
  /** `simple` (Q) or `extended` (Parse/Bind/Execute). */
  protocol: 'simple' | 'extended';
  /** `extended` with parameters: the Bind's values (text as a string, NULL as null, binary as undefined). */
  params?: (string | null | undefined)[];
}

interface Portal {
  text: string;
  params: (string | null | undefined)[] | undefined;
}

type Phase = 'startup' | 'typed' | 'opaque' | 'closed';

export class FrontendParser {
  #phase: Phase = 'startup';
  #buf: Buffer = Buffer.alloc(0);
  readonly #statements = new Map<string, string>();
  readonly #portals = new Map<string, Portal>();

  /** True once the connection is encrypted (or not Postgres): its statements are not seen. */
  get opaque(): boolean {
    return this.#phase === 'opaque';
  }

  /** Reads `chunk` (the next bytes the client sent) and returns the statements it completes. */
  push(bytes: Buffer): FrameStatement[] {
    if (this.#phase === 'opaque' || this.#phase === 'closed') return [];
    let chunk = bytes;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, chunk.length);
      this.#skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return [];
    }
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const out: FrameStatement[] = [];
    let at = 0;
    const buf = this.#buf;
    while (this.#phase === 'startup' || this.#phase === 'typed') {
      if (this.#phase === 'startup') {
        if (buf.length - at >= 1 && buf[at] === TLS_HANDSHAKE) {
          this.#phase = 'opaque';
          break;
        }
        if (buf.length - at < 8) break;
        const len = buf.readInt32BE(at);
        const code = buf.readInt32BE(at + 4);
        if (len < 8 || len > 10_000) {
          this.#phase = 'opaque';
          break;
        }
        if (buf.length - at < len) break;
        at += len;
        if (code === SSL_REQUEST) continue; // the next bytes are a handshake ('S') or a startup ('N')
        if (code === GSSENC_REQUEST) continue;
        if (code === CANCEL_REQUEST) {
          this.#phase = 'closed';
          break;
        }
        this.#phase = code === PROTOCOL_3 ? 'typed' : 'opaque';
        continue;
      }
      if (buf.length - at < 5) break;
      const type = buf[at] as number;
      const len = buf.readInt32BE(at + 1);
      if (len < 4) {
        this.#phase = 'opaque';
        break;
      }
      // CopyData can be large: skip it without waiting for the whole message.
      if (type === 0x64 /* d */ && buf.length - at < 1 + len) {
        this.#skip = 1 + len - (buf.length - at);
        at = buf.length;
        break;
      }
      if (buf.length - at < 1 + len) break;
      const body = buf.subarray(at + 5, at + 1 + len);
      at += 1 + len;
      const s = this.#message(type, body);
      if (s) out.push(s);
    }
    // Copied: a kept slice would pin the whole chunk the socket read into.
    this.#buf = at >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    return out;
  }

  /** Bytes of a CopyData message still to skip. */
  #skip = 0;

  #message(type: number, body: Buffer): FrameStatement | undefined {
    switch (type) {
      case 0x51 /* Q */:
        return { text: cstring(body, 0).value, protocol: 'simple' };
      case 0x50 /* P */:
        {
          const name = cstring(body, 0);
          const text = cstring(body, name.end);
          this.#statements.set(name.value, text.value);
          return undefined;
        }
      case 0x42 /* B */:
        {
          const portal = cstring(body, 0);
          const statement = cstring(body, portal.end);
          const text = this.#statements.get(statement.value) ?? '';
          this.#portals.set(portal.value, { text, params: bindParams(body, statement.end) });
          return undefined;
        }
      case 0x45 /* E */:
        {
          const portal = cstring(body, 0).value;
          const bound = this.#portals.get(portal);
          if (bound === undefined) return undefined;
          // No parameters and unreadable ones look the same: none to bind.
          return bound.params?.length
            ? { text: bound.text, protocol: 'extended', params: bound.params }
            : { text: bound.text, protocol: 'extended' };
        }
      case 0x43 /* C */:
        {
          const name = cstring(body, 1).value;
          if (body[0] === 0x53 /* S */) this.#statements.delete(name);
          else this.#portals.delete(name);
          return undefined;
        }
      case 0x58 /* X */:
        this.#phase = 'closed';
        return undefined;
      default:
        return undefined;
    }
  }
}

/**
 * The parameter values of a Bind body, read from `from` (after the portal and statement
 * names): a format-code count C (UInt16, as Postgres reads it), C codes (none: all text; one:
 * it applies to all), a value count N, then N values as Int32 length (-1 is NULL) and bytes. A body too short for what it
 * declares gives undefined: the statement is still counted, its parameters unknown.
 */
function bindParams(body: Buffer, from: number): (string | null | undefined)[] | undefined {
  let at = from;
  if (body.length - at < 2) return undefined;
  const nFormats = body.readUInt16BE(at);
  at += 2;
  if (body.length - at < 2 * nFormats + 2) return undefined;
  const formats: number[] = [];
  for (let i = 0; i < nFormats; i++) formats.push(body.readInt16BE(at + 2 * i));
  at += 2 * nFormats;
  const nValues = body.readUInt16BE(at);
  at += 2;
  if (nFormats > 1 && nFormats !== nValues) return undefined;
  const params: (string | null | undefined)[] = [];
  for (let i = 0; i < nValues; i++) {
    if (body.length - at < 4) return undefined;
    const len = body.readInt32BE(at);
    at += 4;
    if (len === -1) {
      params.push(null);
      continue;
    }
    if (len < 0 || body.length - at < len) return undefined;
    const format = nFormats === 0 ? 0 : nFormats === 1 ? formats[0] : formats[i];
    params.push(format === 0 ? body.toString('utf8', at, at + len) : undefined);
    at += len;
  }
  return params;
}

function cstring(buf: Buffer, from: number): { value: string; end: number } {
  const nul = buf.indexOf(0, from);
  const end = nul < 0 ? buf.length : nul;
  return { value: buf.toString('utf8', from, end), end: end + 1 };
}
