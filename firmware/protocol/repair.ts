/*
 * The repair code of the coded update method: what a REPAIR_BLOCK holds. Repair block j
 * is the XOR of a set of the image's K blocks (each padded with zeros to the block size),
 * chosen by a generator seeded with (j, K), so the concentrator and every meter derive
 * the same set from the 16-bit index alone. Design and measurements: docs/update.md,
 * "Coded repair".
 *
 * Index j = degree << 8 | serial: degree 1..127 is how many distinct blocks the repair
 * block covers (odd, at most half of K), serial 0..255 tells apart repair blocks of one degree. The
 * concentrator picks the degree for the deficit it repairs (a sparse block for a large
 * deficit, a denser one for a small one); the meter needs nothing but j.
 *
 * The generator is xorshift32: shifts and XORs only, exact on the interpreter (no
 * Math.imul there), the same on every board and on the host.
 */
import { U8, U32, math } from "../common/bytes";

/** Largest degree and serial an index can carry. */
export const enum Rc { MAX_DEGREE = 127, MAX_SERIAL = 255 }

export function repairIndex(degree: number, serial: number): number {
  return ((degree & 0x7f) << 8) | (serial & 0xff);
}

/**
 * Blocks repair block j covers in an image of k blocks: its degree, at most half the image
 * (rounded up), and always odd. A denser set would not be better: the sets of degree k are
 * all the same block, and a random half already gives every missing block an even chance.
 * Odd: sets of even size can never recover a meter missing every block (their XOR over
 * all the blocks is always 0, so they span one dimension less than it needs).
 */
export function repairDegree(j: number, k: number): number {
  var d = (j >> 8) & 0x7f, h = (k + 1) >> 1;
  if (d < 1) d = 1;
  if (d > h) d = h;
  return d & 1 ? d : d - 1;
}

/**
 * A generator for one image size: `set(j)` fills `out` with the distinct block indices of
 * repair block j (in the order drawn) and returns how many. Allocates its buffers once.
 */
export interface RepairSets {
  out: Uint16Array;
  set(j: number): number;
}

export function repairSets(k: number): RepairSets {
  // (the largest degree repairDegree gives for k: a meter holds this for the whole download)
  var out = new Uint16Array(math.min(Rc.MAX_DEGREE, (k + 1) >> 1));
  var seen = new U8((k + 7) >> 3);
  return {
    out: out,
    set: function (j) {
      var d = repairDegree(j, k), n = 0;
      // seed from j and k (both below 2^16, so the sum is exact), never zero
      var x = ((j + 1) * 40503 + k * 2654435) >>> 0;
      if (!x) x = 1;
      for (var i = 0; i < seen.length; i++) seen[i] = 0;
      while (n < d) {
        // (x ^ x << 13 is the same 32 bits signed: >>> reads them unsigned)
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        var b = x % k;
        if (seen[b >> 3] & (1 << (b & 7))) continue;
        seen[b >> 3] |= 1 << (b & 7);
        out[n++] = b;
      }
      return n;
    },
  };
}

/**
 * XORs `src` into `acc` (src no longer than acc), four bytes at a time where both are
 * word-aligned views: on the interpreter a word loop is about 4x faster than a byte loop.
 */
export function xorInto(acc: Uint8Array, src: Uint8Array): void {
  var n = src.length, w = n >> 2, i = 0;
  if (w && !(acc.byteOffset & 3) && !(src.byteOffset & 3)) {
    var a = new U32(acc.buffer, acc.byteOffset, w), s = new U32(src.buffer, src.byteOffset, w);
    for (; i < w; i++) a[i] ^= s[i];
    i = w << 2;
  }
  for (; i < n; i++) acc[i] ^= src[i];
}
