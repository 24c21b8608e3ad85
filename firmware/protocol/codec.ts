/*
 * Encoder and decoder for the messages in catalogue.ts, over the bounds-checked cursor.
 *
 * Decoding never throws, reads each input byte at most once (linear time), and allocates
 * a bounded amount: one body object, one array per list (its count is checked against
 * the bytes left before anything is allocated), and views (no copies) for O, D, V and R
 * fields and the MAC, valid until the frame buffer is reused. Errors are numeric codes.
 */
import { Err } from "../common/errors";
import * as cur from "../common/cursor";
import { Cursor } from "../common/cursor";
import { layoutOf, P } from "./catalogue";
import { U8, floor } from "../common/bytes";

export interface Msg {
  type: number;
  flags: number;
  seq: number;
  src: number;
  /** P.TO_METER, P.TO_GROUP or P.TO_ALL. */
  mode: number;
  dst: number;
  /** Field name -> value, as laid out in the catalogue. */
  body: any;
  /** Authentication trailer, present when flags & P.FLAG_AUTH. */
  counter: number;
  mac: Uint8Array | null;
}

/** A message to fill and reuse (call sites keep the call: inlined, the literal was written out in every one of them). */
export function newMsg(): Msg {
  return { type: 0, flags: 0, seq: 0, src: 0, mode: 0, dst: 0, body: {}, counter: 0, mac: null };
}

/** Fills a (reused) message for sending, no trailer; returns it. */
export function setMsg(m: Msg, type: number, seq: number, src: number, mode: number, dst: number, body: any): Msg {
  m.type = type;
  m.flags = 0;
  m.seq = seq;
  m.src = src;
  m.mode = mode;
  m.dst = dst;
  m.body = body;
  m.counter = 0;
  m.mac = null;
  return m;
}

/** Width in bytes of a fixed-width kind, or 0 for V, R and L. */
export function kindWidth(k: string): number {
  switch (k) {
    case "B": case "b": return 1;
    case "H": return 2;
    case "I": case "i": return 4;
    case "O": return 6;
    case "K": return 16;
    case "D": return 32;
  }
  return 0;
}

function getScalar(c: Cursor, k: string): any {
  switch (k) {
    case "B": return cur.getU8(c);
    case "b": var v = cur.getU8(c); return v > 127 ? v - 256 : v;
    case "H": return cur.getU16(c);
    case "I": return cur.getU32(c);
    case "i": return cur.getU32(c) | 0;
    // O, K, D: bytes
    default: return cur.getBytes(c, kindWidth(k));
  }
}

function isInt(v: any, lo: number, hi: number): boolean {
  return typeof v === "number" && v === floor(v) && v >= lo && v <= hi;
}

/** Writes one fixed-width field; false when the value does not fit its kind. */
function putScalar(c: Cursor, k: string, v: any): boolean {
  switch (k) {
    case "B": if (!isInt(v, 0, 255)) return false; cur.putU8(c, v); return true;
    case "b": if (!isInt(v, -128, 127)) return false; cur.putU8(c, v & 0xff); return true;
    case "H": if (!isInt(v, 0, 0xffff)) return false; cur.putU16(c, v); return true;
    case "I": if (!isInt(v, 0, 0xffffffff)) return false; cur.putU32(c, v); return true;
    case "i": if (!isInt(v, -0x80000000, 0x7fffffff)) return false; cur.putU32(c, v >>> 0); return true;
  }
  // O, K, D: bytes
  if (!(v instanceof U8) || v.length !== kindWidth(k)) return false;
  cur.putBytes(c, v);
  return true;
}

export { layoutOf };

/*
 * Walks a layout. For each field calls visit(name, kind, subStart, subEnd): subStart and
 * subEnd delimit the record layout of an L field inside `spec`. Stops early when visit
 * returns false. Iterative; also used by the host's catalogue walker.
 */
export function eachField(spec: string, visit: (name: string, kind: string, subStart: number, subEnd: number) => boolean): void {
  var p = 0;
  while (p < spec.length) {
    var colon = spec.indexOf(":", p);
    if (colon < 0) return;
    var k = spec.charAt(colon + 1);
    var q = colon + 2, s0 = 0, s1 = 0;
    if (k === "L") {
      s0 = colon + 3;
      s1 = spec.indexOf(")", s0);
      q = s1 + 1;
    }
    if (!visit(spec.substring(p, colon), k, s0, s1)) return;
    p = q + 1;
  }
}

/** Fixed width of a record layout (fields between subStart and subEnd). */
function recordWidth(spec: string, s0: number, s1: number): number {
  var w = 0;
  for (var i = s0; i < s1; i++) if (spec.charAt(i) === ":") w += kindWidth(spec.charAt(i + 1));
  return w;
}

/** The name of a record's field whose colon is at `j` (the record's layout starts at s0). */
function fieldName(spec: string, s0: number, j: number): string {
  var b = spec.lastIndexOf(" ", j) + 1;
  return spec.substring(b < s0 ? s0 : b, j);
}

var rc: Cursor = cur.cursor(new U8(0), 0, 0);
var wc: Cursor = cur.cursor(new U8(0), 0, 0);

/**
 * Encodes `m` into `out` from 0. Returns the length, or a negative error code:
 * -PROTO_UNKNOWN_TYPE, -PROTO_BAD_FIELD (a value missing or not fitting its kind),
 * -PROTO_BAD_ADDRESS, -PROTO_TOO_LONG (over P.MAX_FRAME or over `out`).
 */
export function encodeMsg(m: Msg, out: Uint8Array): number {
  var spec = layoutOf(m.type);
  if (spec === null) return -Err.PROTO_UNKNOWN_TYPE;
  if (!(m.mode === P.TO_METER || m.mode === P.TO_GROUP || m.mode === P.TO_ALL)) return -Err.PROTO_BAD_ADDRESS;
  var c = cur.reset(wc, out, 0, out.length < P.MAX_FRAME ? out.length : P.MAX_FRAME);
  var auth = (m.flags & P.FLAG_AUTH) !== 0;
  var bad = false;
  cur.putU8(c, P.VERSION);
  cur.putU8(c, m.type);
  if (!putScalar(c, "B", m.flags) || !putScalar(c, "H", m.seq) || !putScalar(c, "I", m.src) || !putScalar(c, "B", m.mode) || !putScalar(c, "I", m.dst)) return -Err.PROTO_BAD_FIELD;
  var body = m.body || {};
  eachField(spec, function (name, k, s0, s1) {
    var v = body[name], sp = spec!;
    if (k === "V" || k === "R") {
      if (!(v instanceof U8) || (k === "V" && v.length > 255)) return !(bad = true);
      if (k === "V") cur.putU8(c, v.length);
      cur.putBytes(c, v);
    } else if (k === "L") {
      if (!Array.isArray(v) || v.length > 255) return !(bad = true);
      cur.putU8(c, v.length);
      for (var i = 0; i < v.length && !bad; i++) {
        var rec = v[i];
        if (rec === null || typeof rec !== "object") return !(bad = true);
        for (var j = s0; j < s1 && !bad; j++) {
          if (sp.charAt(j) !== ":") continue;
          if (!putScalar(c, sp.charAt(j + 1), rec[fieldName(sp, s0, j)])) bad = true;
        }
      }
    } else if (!putScalar(c, k, v)) bad = true;
    return !bad;
  });
  if (bad) return -Err.PROTO_BAD_FIELD;
  if (auth) {
    if (!putScalar(c, "I", m.counter) || !(m.mac instanceof U8) || m.mac.length !== P.MAC) return -Err.PROTO_BAD_FIELD;
    cur.putBytes(c, m.mac);
  }
  if (c.err) return -Err.PROTO_TOO_LONG;
  return c.pos;
}

/**
 * Decodes `len` bytes of `frame` into `m` (header fields overwritten, a new body object).
 * Returns 0 or an error code: TRUNCATED, PROTO_VERSION, PROTO_UNKNOWN_TYPE,
 * PROTO_BAD_ADDRESS, PROTO_TRAILING, PROTO_TOO_LONG. Whenever the frame holds a whole
 * header (14 bytes, at most 242), `m`'s header fields are the frame's, even on error.
 */
export function decodeMsg(frame: Uint8Array, len: number, m: Msg): number {
  if (len > P.MAX_FRAME) return Err.PROTO_TOO_LONG;
  var c = cur.reset(rc, frame, 0, len);
  if (len < P.HEADER) return Err.TRUNCATED;
  // the whole header first, so a caller can answer a malformed request with an error
  var version = cur.getU8(c);
  var type = cur.getU8(c);
  m.type = type;
  m.flags = cur.getU8(c);
  m.seq = cur.getU16(c);
  m.src = cur.getU32(c);
  m.mode = cur.getU8(c);
  m.dst = cur.getU32(c);
  var body: any = m.body = {};
  if (version !== P.VERSION) return Err.PROTO_VERSION;
  if (m.mode > P.TO_ALL) return Err.PROTO_BAD_ADDRESS;
  var spec = layoutOf(type);
  if (spec === null) return Err.PROTO_UNKNOWN_TYPE;
  m.counter = 0;
  m.mac = null;
  if (m.flags & P.FLAG_AUTH) {
    // the trailer sits at the end: take it off before the body
    if (len < P.HEADER + P.TRAILER) return Err.TRUNCATED;
    c.end = len - P.TRAILER;
  }
  eachField(spec, function (name, k, s0, s1) {
    var sp = spec!;
    if (k === "V") body[name] = cur.getBytes(c, cur.getU8(c));
    else if (k === "R") body[name] = cur.getBytes(c, cur.remaining(c));
    else if (k === "L") {
      var n = cur.getU8(c);
      if (n * recordWidth(sp, s0, s1) > cur.remaining(c)) {
        if (!c.err) c.err = Err.TRUNCATED;
        return false;
      }
      var list: any[] = [];
      for (var i = 0; i < n; i++) {
        var rec: any = {};
        for (var j = s0; j < s1; j++) {
          if (sp.charAt(j) !== ":") continue;
          rec[fieldName(sp, s0, j)] = getScalar(c, sp.charAt(j + 1));
        }
        list.push(rec);
      }
      body[name] = list;
    } else body[name] = getScalar(c, k);
    return !c.err;
  });
  if (c.err) return c.err;
  if (cur.remaining(c)) return Err.PROTO_TRAILING;
  if (m.flags & P.FLAG_AUTH) {
    c.end = len;
    m.counter = cur.getU32(c);
    m.mac = cur.getBytes(c, P.MAC);
  }
  return 0;
}
