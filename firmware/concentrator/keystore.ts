/*
 * The concentrator's key file (Storage "ml.keys", made by `npm run keys -- concentrator`):
 * records of 36 bytes, meter id u32 | down key 16 | up key 16, sorted by id. Looked up by
 * binary search on each message, read in place: 1,000 meters cost no RAM.
 */
import type { LinkKeys } from "../link/auth";

export var KEY_FILE = "ml.keys";
export var COUNTER_FILE = "ml.ctr";
export var KEY_RECORD = 36;
/** A record of the head-end's tags file (npm run keys -- authorise; console.ts tagsInto): id u32 | kind u8 | 3 zero bytes | tag 16 | wrapped block key 16. */
export var TAGS_RECORD = 40;

/**
 * The record of meter `id` in a file of `size` bytes of `rec`-byte records sorted by their
 * leading u32 id, by binary search; `read(offset, length)` returns bytes of the file as a
 * string (Storage.read). Null when absent. A record the file no longer holds whole (the
 * file cut shorter, or gone, since `size` was read) is not there: before, its missing
 * bytes read as zeros, keys the file never held.
 */
export function findById(read: (offset: number, length: number) => string | undefined, size: number, rec: number, id: number): string | null {
  var lo = 0, hi = Math.floor(size / rec) - 1;
  while (lo <= hi) {
    var mid = (lo + hi) >> 1;
    var r = read(mid * rec, rec) || "";
    if (r.length < rec) { hi = mid - 1; continue; }
    var rid = u32At(r, 0);
    if (rid === id) return r;
    if (rid < id) lo = mid + 1; else hi = mid - 1;
  }
  return null;
}

/** The little-endian u32 at `o` of a string of bytes (a Storage file's text). */
export function u32At(s: string, o: number): number {
  return (s.charCodeAt(o) | (s.charCodeAt(o + 1) << 8) | (s.charCodeAt(o + 2) << 16) | (s.charCodeAt(o + 3) << 24)) >>> 0;
}

/** Bytes of a string, from `o`, `n` of them. */
export function bytesAt(s: string, o: number, n: number): Uint8Array {
  var b = new Uint8Array(n);
  for (var i = 0; i < n; i++) b[i] = s.charCodeAt(o + i) & 0xff;
  return b;
}

/** The link keys of meter `id` from the key file, or null; the last answer is kept (a reply follows its request). */
export function keyFile(read: (offset: number, length: number) => string | undefined, size: number): (id: number) => LinkKeys | null {
  var lastId = -1, last: LinkKeys | null = null;
  return function (id) {
    if (id === lastId) return last;
    var r = findById(read, size, KEY_RECORD, id);
    lastId = id;
    last = r ? { down: bytesAt(r, 4, 16), up: bytesAt(r, 20, 16) } : null;
    return last;
  };
}
