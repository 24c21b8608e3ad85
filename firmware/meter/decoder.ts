/*
 * The meter's decoder for the coded update method (repair blocks: protocol/repair.ts).
 * It works in two steps, so that almost all of it is bit arithmetic and block data is
 * touched once:
 *
 * 1. On arrival (`test`, `commit`): the repair block's set, restricted to the blocks this
 *    meter still misses (m of them), is a row of m bits; it is reduced against the rows
 *    kept so far. A row that reduces to zero adds nothing and is not stored (it would only
 *    take a slot); otherwise the caller stores the block and the row becomes a pivot. The
 *    rank says how many more useful repair blocks the meter needs: m - rank.
 * 2. At full rank (`solve`), by one of two solvers, the board's choice (its profile's
 *    `decode`; the meter's entry passes the one the board uses, so a bundle carries only it):
 *    - `solveRows` (boards with RAM to spare): each kept repair block is read from flash once,
 *      and each held block its set names is read once and XORed into every row that has it
 *      (cleaning); then forward elimination on the cleaned rows in RAM (the lightest row as
 *      pivot, on its column the fewest other rows share) and back-substitution leave one
 *      recovered block per row, written to its own slot by the caller. RAM: one block buffer
 *      per missing block and a bit per (held block, row).
 *    - `solveStreamed` (the Original): the inverse of the rows' bit matrix, in bits (m x m);
 *      then each missing block in turn is built in one block buffer from flash: the repair
 *      blocks its inverse row names, and the held blocks named by an odd number of their
 *      sets. RAM: one block buffer and two bit matrices, whatever m is; more flash reads.
 *
 * RAM besides: the bit rows (rows x ceil(m / 32) words); the caller bounds m by `rows`.
 * Nothing here writes flash: everything the decoder knows is rebuilt from the received
 * bitmap and the stored repair indices (`rebuild`), so a power cut at any moment leaves a
 * decode that starts again from flash.
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

/** What a solver needs from the decoder at full rank. */
export interface Core {
  k: number;
  blockBytes: number;
  /** Missing blocks, ascending (columns 0 .. m-1), and how many. */
  miss: Uint16Array;
  m: number;
  /** Repair index stored in each spare slot, and the slot of each kept row (0 .. m-1). */
  sid: Uint16Array;
  pslot: Int16Array;
  gen: RepairSets;
  /** Column of block b among the missing blocks as they were at `rebuild` (-1: held). */
  colOf(b: number): number;
  work: DecodeWork;
}

/** Recovers every missing block (see Decoder.solve); returns 0 or the first write error. */
export type Solver = (c: Core, blockLength: (i: number) => number, readBlock: (i: number) => Uint8Array, readRepair: (s: number) => Uint8Array, write: (i: number, data: Uint8Array) => number) => number;

export interface Decoder {
  /**
   * Starts over from the received bitmap `got` and the repair indices stored so far
   * (ids[0 .. n-1], in slot order, FREE for an empty slot): rebuilds the rows; stored
   * blocks that no longer add to the rank are left out. Returns the rank.
   */
  rebuild(got: Uint8Array, ids: Uint16Array, n: number): number;
  /** How many more useful repair blocks the meter needs: its missing blocks less the rank. */
  lacking(): number;
  /** True when repair block j would add to the rank (its reduced row is kept for `keep`). */
  offer(j: number): boolean;
  /** Keeps the row of the last successful `offer` as stored repair block number `stored` (once). */
  keep(stored: number): void;
  /**
   * At full rank: recovers every missing block. `readBlock(i)` reads held block i (its
   * real length), `readRepair(s)` stored repair block s (the block size), `write(i, data)`
   * writes recovered block i and returns 0 or an error code, which stops the decode.
   * Returns 0, the first write error, or -1 below full rank.
   */
  solve(blockLength: (i: number) => number, readBlock: (i: number) => Uint8Array, readRepair: (s: number) => Uint8Array, write: (i: number, data: Uint8Array) => number): number;
  work: DecodeWork;
}

/**
 * XORs `n` 32-bit words of `b` into `a` (n a multiple of 4), four a turn: on the interpreter
 * the loop's own test and step cost about as much as the XOR.
 */
function xorWords(a: Uint32Array, b: Uint32Array, n: number): void {
  for (var w = 0; w < n; w += 4) { a[w] ^= b[w]; a[w + 1] ^= b[w + 1]; a[w + 2] ^= b[w + 2]; a[w + 3] ^= b[w + 3]; }
}

/**
 * A decoder for an image of `k` blocks of `blockSize` bytes, keeping at most `rows`
 * repair blocks (the meter's room: spare slots, and what its solver's RAM can hold).
 */
export function decoder(k: number, blockSize: number, rows: number, solver: Solver): Decoder {
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
    solve: function (blockLength, readBlock, readRepair, write) {
      if (rank < m) return -1;
      return solver({ k: k, blockBytes: blockSize, miss: miss, m: m, sid: sid, pslot: pslot, gen: gen, colOf: colOf, work: work }, blockLength, readBlock, readRepair, write);
    },
  };
}

/**
 * The solver for boards with RAM to spare: cleaning, then elimination on block buffers in
 * RAM, one per missing block (see the top of this file).
 */
export function solveRows(x: Core, blockLength: (i: number) => number, readBlock: (i: number) => Uint8Array, readRepair: (s: number) => Uint8Array, write: (i: number, data: Uint8Array) => number): number {
  var k = x.k, m = x.m, miss = x.miss, sid = x.sid, pslot = x.pslot, gen = x.gen, colOf = x.colOf, work = x.work, blockSize = x.blockBytes, words = (m + 31) >> 5 || 1;
  // cleaned rows, one block buffer each seen as 32-bit words (separate small arrays: on
  // the interpreter an element of a large typed array that is not stored in one piece
  // costs a walk along it, measured at milliseconds a block), padded with zeros to a
  // multiple of 16 bytes for xorWords; their columns among the missing blocks, their
  // weights, and per column how many rows not yet pivots have it
  var rows: Uint32Array[] = [], cols = new Uint32Array(m * words), wt = new Uint16Array(m), cc = new Uint16Array(m);
  // per held block, a bit for each row whose set has it (mb bytes a block)
  var mb = (m + 7) >> 3, mask = new Uint8Array(k * mb), r: number, w: number, i: number, c: number, v: number, t: number, b: number;
  var bw = ((blockSize + 15) >> 4) << 2, held = new Uint8Array(bw * 4), hw = new Uint32Array(held.buffer);
  for (r = 0; r < m; r++) {
    var rd = new Uint8Array(bw * 4);
    rd.set(readRepair(pslot[r]));
    rows.push(new Uint32Array(rd.buffer));
    var d = gen.set(sid[pslot[r]]);
    for (i = 0; i < d; i++) {
      b = gen.out[i];
      c = colOf(b);
      if (c < 0) mask[b * mb + (r >> 3)] |= 1 << (r & 7);
      else { cols[r * words + (c >> 5)] ^= 1 << (c & 31); wt[r]++; cc[c]++; }
    }
  }
  // cleaning: each held block is read once and XORed into every row whose set has it
  for (b = 0; b < k; b++) {
    var got1: Uint8Array | null = null;
    for (var q = 0; q < mb; q++) {
      v = mask[b * mb + q];
      if (v && !got1) {
        got1 = readBlock(b);
        held.set(got1);
        for (var z = got1.length; z < blockSize; z++) held[z] = 0;
        work.reads++;
      }
      for (t = 0; v; t++, v >>= 1) if (v & 1) { xorWords(rows[(q << 3) + t], hw, bw); work.cleanXors++; }
    }
  }
  // forward elimination: the lightest row not yet a pivot, on its column the fewest
  // other such rows share (a row's weight 0 marks it a pivot); each pivot's column leaves
  // the rows after it, not the ones before, so the rows fill in little
  var order = new Int16Array(m), pc = new Int16Array(m), rowOf = new Int16Array(m), list = new Int16Array(m), best = -1;
  for (r = 0; r < m; r++) if (best < 0 || wt[r] < wt[best]) best = r;
  for (var step = 0; step < m; step++) {
    var nl = 0, col = -1, next = -1;
    for (w = 0; w < words; w++) for (v = cols[best * words + w], t = 0; v; t++, v >>>= 1) if (v & 1) {
      c = (w << 5) + t;
      list[nl++] = c;
      cc[c]--;
      if (col < 0 || cc[c] < cc[col]) col = c;
    }
    order[step] = best;
    pc[best] = col;
    rowOf[col] = best;
    wt[best] = 0;
    var cw = col >> 5, cb = 1 << (col & 31);
    // in the same scan, the lightest row left: the next pivot
    for (r = 0; r < m; r++) {
      if (!wt[r]) continue;
      if (cols[r * words + cw] & cb) {
        for (w = 0; w < words; w++) cols[r * words + w] ^= cols[best * words + w];
        for (i = 0; i < nl; i++) {
          c = list[i];
          if (cols[r * words + (c >> 5)] & (1 << (c & 31))) { cc[c]++; wt[r]++; } else { cc[c]--; wt[r]--; }
        }
        xorWords(rows[r], rows[best], bw);
        work.rowXors++;
      }
      if (next < 0 || wt[r] < wt[next]) next = r;
    }
    best = next;
  }
  // back-substitution, last pivot first: a pivot row's other columns are pivots taken
  // after it, whose rows hold their recovered block by then
  for (step = m - 1; step >= 0; step--) {
    r = order[step];
    for (w = 0; w < words; w++) for (v = cols[r * words + w], t = 0; v; t++, v >>>= 1) {
      c = (w << 5) + t;
      if (v & 1 && c !== pc[r]) { xorWords(rows[r], rows[rowOf[c]], bw); work.rowXors++; }
    }
  }
  for (r = 0; r < m; r++) {
    var blk = miss[pc[r]];
    var e = write(blk, new Uint8Array(rows[r].buffer, 0, blockLength(blk)));
    if (e) return e;
  }
  return 0;
}

/**
 * The solver for the Original's RAM: Gauss-Jordan on the rows' m x m bit matrix gives its
 * inverse; missing block c is then the XOR of the repair blocks row c of the inverse names,
 * and of every held block an odd number of their sets name (each set's held part cancels
 * in pairs). Built in one block buffer, straight from flash, and written; then the next.
 */
export function solveStreamed(x: Core, blockLength: (i: number) => number, readBlock: (i: number) => Uint8Array, readRepair: (s: number) => Uint8Array, write: (i: number, data: Uint8Array) => number): number {
  // (few names: each local is a variable for as long as the decode runs, at the download's peak)
  var m = x.m, gen = x.gen, words = (m + 31) >> 5, a = new Uint32Array(m * words), inv = new Uint32Array(m * words);
  var r: number, w: number, i: number, c: number, b: number, d: number;
  for (r = 0; r < m; r++) {
    inv[r * words + (r >> 5)] = 1 << (r & 31);
    d = gen.set(x.sid[x.pslot[r]]);
    for (i = 0; i < d; i++) {
      c = x.colOf(gen.out[i]);
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
  var acc = new Uint8Array(x.blockBytes), odd = new Uint8Array((x.k + 7) >> 3);
  for (c = 0; c < m; c++) {
    for (i = 0; i < acc.length; i++) acc[i] = 0;
    for (i = 0; i < odd.length; i++) odd[i] = 0;
    for (r = 0; r < m; r++) if (inv[c * words + (r >> 5)] & (1 << (r & 31))) {
      xorInto(acc, readRepair(x.pslot[r]));
      x.work.reads++;
      x.work.rowXors++;
      d = gen.set(x.sid[x.pslot[r]]);
      for (i = 0; i < d; i++) if ((b = gen.out[i]), x.colOf(b) < 0) odd[b >> 3] ^= 1 << (b & 7);
    }
    for (b = 0; b < x.k; b++) if (odd[b >> 3] & (1 << (b & 7))) {
      xorInto(acc, readBlock(b));
      x.work.reads++;
      x.work.cleanXors++;
    }
    b = x.miss[c];
    d = write(b, new Uint8Array(acc.buffer, 0, blockLength(b)));
    if (d) return d;
  }
  return 0;
}
