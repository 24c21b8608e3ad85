/*
 * A bounds-checked byte cursor over a Uint8Array, little endian. Reads past the end and
 * writes past the capacity never throw: they set a sticky error code (Err.TRUNCATED on
 * read, Err.TOO_LONG on write), return 0, and every later call is a no-op, so a decoder
 * checks `c.err` once at the end. No allocation beyond the cursor itself; `bytes`
 * returns a view, not a copy.
 */
import { Err } from "./errors";
import { getU32 as u32At, putU32 as u32Put, sub } from "./bytes";

export interface Cursor {
  buf: Uint8Array;
  pos: number;
  end: number;
  err: number;
}

export function cursor(buf: Uint8Array, start: number, end: number): Cursor {
  return { buf: buf, pos: start, end: end > buf.length ? buf.length : end, err: 0 };
}

/** Re-points an existing cursor (allocate once, reuse per frame). */
export function reset(c: Cursor, buf: Uint8Array, start: number, end: number): Cursor {
  c.buf = buf;
  c.pos = start;
  c.end = end > buf.length ? buf.length : end;
  c.err = 0;
  return c;
}

function room(c: Cursor, n: number, code: number): boolean {
  if (c.err) return false;
  if (c.pos + n > c.end) {
    c.err = code;
    return false;
  }
  return true;
}

export function remaining(c: Cursor): number {
  return c.err ? 0 : c.end - c.pos;
}

export function getU8(c: Cursor): number {
  if (!room(c, 1, Err.TRUNCATED)) return 0;
  return c.buf[c.pos++];
}

export function getU16(c: Cursor): number {
  if (!room(c, 2, Err.TRUNCATED)) return 0;
  var b = c.buf, p = c.pos;
  c.pos += 2;
  return b[p] | (b[p + 1] << 8);
}

export function getU32(c: Cursor): number {
  if (!room(c, 4, Err.TRUNCATED)) return 0;
  c.pos += 4;
  return u32At(c.buf, c.pos - 4);
}

/** A view of the next n bytes (no copy), or an empty view with the error set. */
export function getBytes(c: Cursor, n: number): Uint8Array {
  if (n < 0 || !room(c, n, Err.TRUNCATED)) return sub(c.buf, 0, 0);
  c.pos += n;
  return sub(c.buf, c.pos - n, c.pos);
}

export function putU8(c: Cursor, v: number): void {
  if (room(c, 1, Err.TOO_LONG)) c.buf[c.pos++] = v & 0xff;
}

export function putU16(c: Cursor, v: number): void {
  if (!room(c, 2, Err.TOO_LONG)) return;
  c.buf[c.pos++] = v & 0xff;
  c.buf[c.pos++] = (v >>> 8) & 0xff;
}

export function putU32(c: Cursor, v: number): void {
  if (!room(c, 4, Err.TOO_LONG)) return;
  u32Put(c.buf, c.pos, v);
  c.pos += 4;
}

export function putBytes(c: Cursor, src: Uint8Array): void {
  if (!room(c, src.length, Err.TOO_LONG)) return;
  c.buf.set(src, c.pos);
  c.pos += src.length;
}
