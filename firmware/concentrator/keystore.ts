/*
 * The concentrator's key file (Storage "ml.keys", made by `npm run keys -- concentrator`):
 * records of 36 bytes, meter id u32 | down key 16 | up key 16, sorted by id. Looked up by
 * binary search on each message, read in place: 1,000 meters cost no RAM.
 */
import type { LinkKeys } from "../link/auth";

export var KEY_FILE = "ml.keys";
export var COUNTER_FILE = "ml.ctr";
export var KEY_RECORD = 36;

/** `read(offset, length)` returns bytes of the file as a string (Storage.read). */
export function keyFile(read: (offset: number, length: number) => string | undefined, size: number): (id: number) => LinkKeys | null {
  var n = Math.floor(size / KEY_RECORD);
  var lastId = -1, last: LinkKeys | null = null;
  function bytes(s: string, o: number): Uint8Array {
    var b = new Uint8Array(16);
    for (var i = 0; i < 16; i++) b[i] = s.charCodeAt(o + i) & 0xff;
    return b;
  }
  return function (id) {
    if (id === lastId) return last;
    var lo = 0, hi = n - 1, found: LinkKeys | null = null;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      var r = read(mid * KEY_RECORD, KEY_RECORD) || "";
      var rid = (r.charCodeAt(0) | (r.charCodeAt(1) << 8) | (r.charCodeAt(2) << 16) | (r.charCodeAt(3) << 24)) >>> 0;
      if (rid === id) { found = { down: bytes(r, 4), up: bytes(r, 20) }; break; }
      if (rid < id) lo = mid + 1; else hi = mid - 1;
    }
    lastId = id;
    last = found;
    return found;
  };
}
