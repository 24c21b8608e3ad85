/*
 * The meter's decoders for the coded update method (repair blocks: protocol/repair.ts).
 * Both keep the same ranks: a repair block's set, restricted to the blocks this meter still
 * misses (m of them), is a row of m bits, reduced against the rows kept so far. A row that
 * reduces to zero adds nothing and is not stored (it would only take a slot); otherwise the
 * caller stores the block and keeps the row. The rank says how many more useful repair
 * blocks the meter needs: m - rank. The board's profile (`decode`) chooses one, and the
 * meter's entry passes it, so a bundle carries only its own:
 *
 * - `rowsDecoder` (boards with RAM to spare): the block data is cleaned and reduced as it
 *   arrives, rows in RAM in reduced echelon form, so at full rank the decode only writes the
 *   recovered blocks. RAM: a block buffer per kept row.
 * - `decoder`, streamed (the Original): bits only until full rank; then the
 *   inverse of the rows' bit matrix, in bits (m x m), and each missing block in turn built in
 *   one block buffer from flash: the repair blocks its inverse row names, and the held blocks
 *   named by an odd number of their sets. RAM: one block buffer and two bit matrices,
 *   whatever m is; more flash reads.
 *
 * Nothing here writes flash: everything a decoder knows is rebuilt from the received bitmap
 * and the stored repair blocks (`rebuild`), so a power cut at any moment leaves a decode
 * that starts again from flash.
 */
import { repairSets, xorInto, type RepairSets } from "../protocol/repair";

/** An id list entry for a slot that holds no repair block (indices stay below 0x8000). */
export var FREE = 0xffff;

export interface DecodeWork {
  /** Block XORs: cleaning (a held block into a row) and elimination (row into row), all in RAM; held blocks read from flash. */
  cleanXors: number;
  rowXors: number;
  reads: number;
}

/** A board's decoder for an image of k blocks of blockSize bytes, keeping at most `rows` repair blocks: `decoder` or `rowsDecoder`. */
export type DecoderOf = (k: number, blockSize: number, rows: number) => Decoder;

export interface Decoder {
  /**
   * Catches up with the received bitmap `got` and the repair indices stored so far
   * (ids[0 .. n-1], in slot order, FREE for an empty slot): rebuilds the rows; stored
   * blocks that no longer add to the rank are left out. Returns the rank. The rows decoder
   * reads blocks (`readBlock(i)`: held block i, its real length; `readRepair(s)`: the
   * repair block in spare slot s) for what changed, or for everything after a loss.
   */
  rebuild(got: Uint8Array, ids: Uint16Array, n: number, readBlock?: (i: number) => Uint8Array, readRepair?: (s: number) => Uint8Array): number;
  /** How many more useful repair blocks the meter needs: its missing blocks less the rank. */
  lacking(): number;
  /** True when repair block j would add to the rank (its reduced row is kept for `keep`). */
  offer(j: number): boolean;
  /**
   * Keeps the row of the last successful `offer` as the repair block stored in spare slot
   * `stored` (once); the rows decoder also takes its block (`data`, as received) and
   * reads the held blocks it covers.
   */
  keep(stored: number, data?: Uint8Array, readBlock?: (i: number) => Uint8Array): void;
  /**
   * At full rank: recovers every missing block. `readBlock(i)` reads held block i (its
   * real length), `readRepair(s)` stored repair block s (the block size), `write(i, data)`
   * writes recovered block i and returns 0 or an error code, which stops the decode.
   * Returns 0, the first write error, or -1 below full rank.
   */
  solve(blockLength: (i: number) => number, readBlock: (i: number) => Uint8Array, readRepair: (s: number) => Uint8Array, write: (i: number, data: Uint8Array) => number): number;
  work: DecodeWork;
}

/** A block XOR kernel: XORs its 1 or 4 sources (b, c, d, e) into a, block-long Uint32Arrays. */
type Xor = (a: Uint32Array, b: Uint32Array, c?: Uint32Array, d?: Uint32Array, e?: Uint32Array) => void;

/**
 * The XOR kernel for blocks of n words and k sources, its statements written out once (at
 * the decoder's start) and made a function. The interpreter runs source text: a statement
 * with constant indices, `a[7]^=b[7]`, costs about two thirds of a loop's step, and one
 * with four sources, `a[7]^=b[7]^c[7]^d[7]^e[7]`, about 2.4 single ones (docs/update.md,
 * What it costs). The text stays in RAM while the download lasts: the rows decoder's boards have it.
 */
function kernel(n: number, k: number): Xor {
  for (var s = "", i = 0; i < n; i++) {
    s += "a[" + i + "]^=b[" + i + "]";
    for (var q = 1; q < k; q++) s += "^" + "cde"[q - 1] + "[" + i + "]";
    s += ";";
  }
  return Function("a", "b", "c", "d", "e", s) as Xor;
}

/**
 * The streamed decoder (the Original's, and the bench's model meters' ranks) for an image
 * of `k` blocks of `blockSize` bytes, keeping at most `rows` repair blocks (the meter's
 * room: spare slots, and what its RAM can hold): bits until full rank, then its solve streams the blocks.
 */
export function decoder(k: number, blockSize: number, rows: number): Decoder {
  var gen: RepairSets = /*@__NOINLINE__*/ repairSets(k);
  // (RAM: every name and function of this scope costs a variable while the download lasts,
  // so helpers used once are written in place, and the missing list is sized to fit)
  var miss = new Uint16Array(1), m = 0, words = 1, rank = 0, sid: Uint16Array = new Uint16Array(0);
  // pivot rows (reduced), their pivot column and which stored repair block each is
  var piv = new Uint32Array(0), pcol = new Int16Array(rows), pslot = new Int16Array(rows);
  var row = new Uint32Array(0), rowCol = -1;
  var work: DecodeWork = { cleanXors: 0, rowXors: 0, reads: 0 };

  /** Column of missing block b (binary search in the sorted list), or -1. */
  function colOf(b: number): number {
    var lo = 0, hi = m - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (miss[mid] === b) return mid;
      if (miss[mid] < b) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  function offer(j: number): boolean {
    rowCol = -1;
    if (rank >= m || rank >= rows) return false;
    for (var w = 0; w < words; w++) row[w] = 0;
    var d = gen.set(j), c: number;
    for (var i = 0; i < d; i++) {
      c = colOf(gen.out[i]);
      if (c >= 0) row[c >> 5] ^= 1 << (c & 31);
    }
    for (var p = 0; p < rank; p++) {
      c = pcol[p];
      if (row[c >> 5] & (1 << (c & 31))) for (w = 0; w < words; w++) row[w] ^= piv[p * words + w];
    }
    // the lowest column left in the row
    for (w = 0; rowCol < 0 && w < words; w++) for (var b = 0; b < 32; b++) if (row[w] & (1 << b)) { rowCol = (w << 5) + b; break; }
    return rowCol >= 0;
  }

  /** After a successful offer (callers keep each offered row once). */
  function keep(stored: number): void {
    piv.set(row, rank * words);
    pcol[rank] = rowCol;
    pslot[rank++] = stored;
  }

  return {
    work: work,
    rebuild: function (g, ids, n) {
      sid = ids;
      for (var i = 0, n2 = 0; i < k; i++) if (!(g[i >> 3] & (0x80 >> (i & 7)))) n2++;
      miss = new Uint16Array(n2 || 1);
      for (m = 0, i = 0; i < k; i++) if (!(g[i >> 3] & (0x80 >> (i & 7)))) miss[m++] = i;
      words = (m + 31) >> 5 || 1;
      if (piv.length < rows * words) piv = new Uint32Array(rows * words);
      if (row.length < words) row = new Uint32Array(words);
      rank = 0;
      for (var s = 0; s < n; s++) if (ids[s] !== FREE && offer(ids[s])) keep(s);
      return rank;
    },
    lacking: function () { return m - rank; },
    offer: offer,
    keep: keep,
    // Gauss-Jordan on the rows' m x m bit matrix gives its inverse; missing block c is then the
    // XOR of the repair blocks row c of the inverse names, and of every held block an odd
    // number of their sets name (each set's held part cancels in pairs). Built in one block
    // buffer, straight from flash, and written; then the next. (Here, with the decoder's own
    // names, rather than in a function of its own that an object of them is passed to: on the
    // Original that object was about ten variables at the download's peak)
    solve: function (blockLength, readBlock, readRepair, write) {
      if (rank < m) return -1;
      var a = new Uint32Array(m * words), inv = new Uint32Array(m * words), r: number, w: number, i: number, c: number, b: number, d: number;
      for (r = 0; r < m; r++) {
        inv[r * words + (r >> 5)] = 1 << (r & 31);
        d = gen.set(sid[pslot[r]]);
        for (i = 0; i < d; i++) {
          c = colOf(gen.out[i]);
          if (c >= 0) a[r * words + (c >> 5)] ^= 1 << (c & 31);
        }
      }
      // column c's pivot comes to row c; every other row with column c loses it (full rank:
      // a row with the bit is always found at or below c)
      for (c = 0; c < m; c++) {
        // the pivot row: the first at or below c with bit c (d: its word offset); swapped in by XORs
        for (b = c; !(a[b * words + (c >> 5)] & (1 << (c & 31))); b++);
        if (b !== c) for (w = 0; w < words; w++) {
          d = b * words + w; i = c * words + w;
          a[d] ^= a[i]; a[i] ^= a[d]; a[d] ^= a[i];
          inv[d] ^= inv[i]; inv[i] ^= inv[d]; inv[d] ^= inv[i];
        }
        for (r = 0; r < m; r++) if (r !== c && a[r * words + (c >> 5)] & (1 << (c & 31))) for (w = 0; w < words; w++) {
          a[r * words + w] ^= a[c * words + w];
          inv[r * words + w] ^= inv[c * words + w];
        }
      }
      var acc = new Uint8Array(blockSize), odd = new Uint8Array((k + 7) >> 3);
      for (c = 0; c < m; c++) {
        for (i = 0; i < acc.length; i++) acc[i] = 0;
        for (i = 0; i < odd.length; i++) odd[i] = 0;
        for (r = 0; r < m; r++) if (inv[c * words + (r >> 5)] & (1 << (r & 31))) {
          xorInto(acc, readRepair(pslot[r]));
          work.reads++;
          work.rowXors++;
          d = gen.set(sid[pslot[r]]);
          for (i = 0; i < d; i++) if ((b = gen.out[i]), colOf(b) < 0) odd[b >> 3] ^= 1 << (b & 7);
        }
        for (b = 0; b < k; b++) if (odd[b >> 3] & (1 << (b & 7))) {
          xorInto(acc, readBlock(b));
          work.reads++;
          work.cleanXors++;
        }
        b = miss[c];
        d = write(b, new Uint8Array(acc.buffer, 0, blockLength(b)));
        if (d) return d;
      }
      return 0;
    },
  };
}

/**
 * The decoder for boards with RAM to spare (profile `decode: "rows"`): the same ranks as
 * `decoder`, but the block data is reduced as it arrives, so that at full rank the decode
 * is only writing recovered blocks (docs/update.md, "The meter's side").
 *
 * It keeps in RAM, for every stored repair block that adds to the rank, a row: its block
 * cleaned (every block it covers that the meter holds XORed out) and its bits over the
 * missing blocks, in reduced row echelon form: each row has a pivot column that no other
 * row has. On arrival (`keep`) the new row is cleaned, reduced against the pivots, takes
 * its lowest column as pivot, and that column leaves every other row. A
 * plain block arriving for a missing column leaves every row that has it (`rebuild` sees it
 * in the bitmap); a row that loses its pivot so takes another or, empty, is dropped. At full
 * rank every row is one recovered block. RAM: a block buffer per kept row and the bit rows.
 *
 * Flash holds what it always did (the repair blocks as received, marked): RAM is only a
 * cache, and after a restart, a unit erased or a stored block lost, `rebuild` makes it
 * again from flash, cleaning and reducing every stored block (the old full-rank cost,
 * paid only on that path).
 */
export function rowsDecoder(k: number, blockSize: number, rows: number): Decoder {
  var gen: RepairSets = /*@__NOINLINE__*/ repairSets(k);
  // m < 0: never built. Columns are the blocks missing at the last full rebuild (miss[c] is
  // column c's block); col[b] is block b's column, -1 once held (before that rebuild, or
  // arrived plain since: `known` counts those)
  var miss = new Uint16Array(1), col = new Int16Array(k), m = -1, words = 1, rank = 0, known = 0;
  var bits = new Uint32Array(0), row = new Uint32Array(1), colPiv = new Int16Array(1);
  // the pivot rows the last offer's row was reduced by
  var used = new Int16Array(rows), nu = 0, deg = 0;
  // per slot: the row's pivot column (-1: none), its block, the repair index it was built
  // from; and the slots with a row (live[0 .. nl-1])
  var pcol = new Int16Array(rows), dat: (Uint32Array | null)[] = [], have = new Uint16Array(rows), live = new Int16Array(rows), nl = 0;
  // block words; the XOR kernels; four buffers for held blocks read from flash, and the
  // sources waiting to go into a block (keep)
  var bw = (blockSize + 3) >> 2, x1 = kernel(bw, 1), x4 = kernel(bw, 4);
  var tq: Uint32Array[] = [], t8: Uint8Array[] = [], pd: Uint32Array[] = [], np = 0, q: number;
  for (q = 0; q < 4; q++) t8[q] = new Uint8Array((tq[q] = new Uint32Array(bw)).buffer);
  var work: DecodeWork = { cleanXors: 0, rowXors: 0, reads: 0 }, lastJ = 0;

  /** Held block b read (zero padded) into buffer q. */
  function load(q: number, readBlock: (i: number) => Uint8Array, b: number): Uint32Array {
    var d = readBlock(b), t = t8[q];
    t.set(d);
    for (var z = d.length; z < t.length; z++) t[z] = 0;
    work.reads++;
    return tq[q];
  }

  /**
   * Repair block j's row over the columns not yet held, reduced against the pivots, into
   * `row`; the pivot rows used go into `used` (for `keep`, which reduces the block alike).
   * A pivot row has no other pivot column, so the pivots the row is reduced by are the ones
   * of its own set, and XORing them in adds none. Returns whether anything is left.
   */
  function reduce(j: number): boolean {
    var w: number, c: number, s: number, left = 0;
    for (w = 0; w < words; w++) row[w] = 0;
    for (var i = 0, d = (deg = gen.set(j)), nu2 = 0; i < d; i++) if ((c = col[gen.out[i]]) >= 0) {
      row[c >> 5] ^= 1 << (c & 31);
      if ((s = colPiv[c]) >= 0) used[nu2++] = s;
    }
    for (nu = nu2, i = 0; i < nu; i++) for (s = used[i] * words, w = 0; w < words; w++) row[w] ^= bits[s + w];
    for (w = 0; w < words; w++) left |= row[w];
    return left !== 0;
  }

  /** Slot s's row (bits, block) has no pivot: it takes its lowest column, which leaves every other row; an empty row is dropped. */
  function settle(s: number): void {
    var c = -1, t: number, w: number, o = s * words;
    for (w = 0; w < words && c < 0; w++) if (bits[o + w]) for (c = w << 5; !(bits[o + w] & (1 << (c & 31))); c++);
    if (c < 0) { dat[s] = null; return; }
    for (var i = 0; i < nl; i++) if (bits[(t = live[i]) * words + (c >> 5)] & (1 << (c & 31))) {
      for (w = 0; w < words; w++) bits[t * words + w] ^= bits[o + w];
      x1(dat[t] as Uint32Array, dat[s] as Uint32Array);
      work.rowXors++;
    }
    pcol[s] = c;
    colPiv[c] = s;
    rank++;
    live[nl++] = s;
  }

  /** Column c's block is held now: it leaves every row that has it. */
  function arrived(c: number, readBlock: (i: number) => Uint8Array): void {
    var s = colPiv[c], t: number, i: number, b: Uint32Array | null = null, bit = 1 << (c & 31);
    col[miss[c]] = -1;
    known++;
    for (i = 0; i < nl; i++) if (bits[(t = live[i]) * words + (c >> 5)] & bit) {
      // (read once, XORed into each)
      x1(dat[t] as Uint32Array, b || (b = load(0, readBlock, miss[c])));
      work.cleanXors++;
      bits[t * words + (c >> 5)] ^= bit;
    }
    if (s < 0) return;
    colPiv[c] = pcol[s] = -1;
    rank--;
    for (i = 0; i < nl && live[i] !== s; i++);
    if (i < nl) live[i] = live[--nl];
    settle(s);
  }

  function keep(stored: number, data?: Uint8Array, readBlock?: (i: number) => Uint8Array): void {
    // the block as the row: the held blocks its set covers (the set is still in gen.out
    // from the offer) and the pivot rows the offer used, XORed out
    if (deg < 0) return;
    // (the sources go in four at a time: pd[0 .. np-1] wait, a held block read into tq[np])
    var buf = new Uint32Array(bw), i: number, b: number, z: Uint32Array;
    new Uint8Array(buf.buffer).set(data as Uint8Array);
    np = 0;
    for (i = 0; i < deg + nu; i++) {
      if (i < deg) {
        if (col[(b = gen.out[i])] >= 0) continue;
        z = load(np, readBlock as (i: number) => Uint8Array, b);
        work.cleanXors++;
      } else {
        z = dat[used[i - deg]] as Uint32Array;
        work.rowXors++;
      }
      pd[np++] = z;
      if (np > 3) { x4(buf, pd[0], pd[1], pd[2], pd[3]); np = 0; }
    }
    while (np) x1(buf, pd[--np]);
    have[stored] = lastJ;
    bits.set(row, stored * words);
    dat[stored] = buf;
    // (a second keep without an offer keeps nothing)
    deg = -1;
    settle(stored);
  }

  return {
    work: work,
    rebuild: function (got, ids, n, readBlock, readRepair) {
      var i: number, c: number, s: number, full = m < 0 || !rank;
      for (s = 0; s < n && !full; s++) if (ids[s] !== have[s]) full = true;
      // a block held before and lost since (its unit erased): its part was cleaned out of
      // the rows, so they start over; a block that arrived leaves them
      for (i = 0; i < k && !full; i++) {
        c = col[i];
        if (!(got[i >> 3] & (0x80 >> (i & 7)))) full = c < 0;
        else if (c >= 0) arrived(c, readBlock as (i: number) => Uint8Array);
      }
      if (!full) return rank;
      for (m = 0, i = 0; i < k; i++) col[i] = got[i >> 3] & (0x80 >> (i & 7)) ? -1 : m++;
      miss = new Uint16Array(m || 1);
      for (i = 0; i < k; i++) if (col[i] >= 0) miss[col[i]] = i;
      words = (m + 31) >> 5 || 1;
      bits = new Uint32Array(rows * words);
      row = new Uint32Array(words);
      colPiv = new Int16Array(m || 1);
      for (c = 0; c < m; c++) colPiv[c] = -1;
      for (s = 0; s < rows; s++) { pcol[s] = -1; have[s] = FREE; }
      dat = [];
      rank = known = nl = 0;
      for (s = 0; s < n; s++) {
        have[s] = ids[s];
        if (ids[s] !== FREE && rank < m && reduce((lastJ = ids[s]))) keep(s, (readRepair as (s: number) => Uint8Array)(s), readBlock);
      }
      return rank;
    },
    lacking: function () { return m - known - rank; },
    offer: function (j) {
      lastJ = j;
      if (rank + known < m && rank < rows && reduce(j)) return true;
      // keep() after a refused offer keeps nothing (its row and set are not this block's)
      deg = -1;
      return false;
    },
    keep: keep,
    solve: function (blockLength, _readBlock, _readRepair, write) {
      if (m - known - rank) return -1;
      for (var s = 0, e = 0; s < rows && !e; s++) if (pcol[s] >= 0) e = write(miss[pcol[s]], new Uint8Array((dat[s] as Uint32Array).buffer, 0, blockLength(miss[pcol[s]])));
      // the rows are written (or a write failed, which erased a unit): their RAM goes back
      // before the digest check, and the next rebuild starts over from flash
      dat = [];
      m = -1;
      return e;
    },
  };
}

