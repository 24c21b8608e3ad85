import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decoder, FREE, rowsDecoder, type DecoderOf } from "../../../firmware/meter/decoder";
import { repairIndex, repairSets, repairDegree, xorInto } from "../../../firmware/protocol/repair";
import { LAMBDA } from "../../../firmware/concentrator/campaign";

/** An image of k blocks (the last one short when `last` < bs), and repair block j as the concentrator makes it. */
function imageOf(k: number, bs: number, last: number, seed: number) {
  let x = seed >>> 0 || 1;
  const blocks: Uint8Array[] = [];
  for (let i = 0; i < k; i++) {
    const b = new Uint8Array(i === k - 1 ? last : bs);
    for (let j = 0; j < b.length; j++) { x = (x * 1103515245 + 12345) >>> 0; b[j] = x >>> 24; }
    blocks.push(b);
  }
  const sets = repairSets(k);
  const repair = (j: number) => {
    const out = new Uint8Array(bs);
    const d = sets.set(j);
    for (let i = 0; i < d; i++) xorInto(out, blocks[sets.out[i]]);
    return out;
  };
  return { blocks, repair };
}

/** Rank over GF(2) of the repair sets restricted to the missing blocks, computed apart from the decoder. */
function referenceRank(k: number, missing: number[], ids: number[]): number {
  const sets = repairSets(k), col = new Map(missing.map((b, i) => [b, i]));
  const basis = new Map<number, bigint>();
  for (const j of ids) {
    let row = 0n;
    const d = sets.set(j);
    for (let i = 0; i < d; i++) { const c = col.get(sets.out[i]); if (c !== undefined) row ^= 1n << BigInt(c); }
    while (row) {
      const top = row.toString(2).length - 1;
      const b = basis.get(top);
      if (b === undefined) { basis.set(top, row); break; }
      row ^= b;
    }
  }
  return basis.size;
}

const DECODERS: [string, DecoderOf][] = [["rows reduced in RAM as they arrive", rowsDecoder], ["bits, then streamed from flash", decoder]];

describe.each(DECODERS)("the meter's decoder, %s", (_name, make) => {
  it("recovers every missing block when the rank is full, and reports exactly what is still needed otherwise", () => {
    fc.assert(fc.property(
      // up to 140 rows and 150 missing blocks (bit rows of 5 words), and a mix of degrees, as
      // the concentrator sends for each round's deficit
      fc.integer({ min: 1, max: 320 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 140 }),
      fc.integer({ min: 0, max: 0xffffffff }), fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 150 }),
      fc.array(fc.integer({ min: 1, max: 127 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 60 }),
      (k, words, rows, seed, lossPicks, degrees, extra) => {
        const bs = words * 4, last = 1 + (seed % bs);
        const img = imageOf(k, bs, last, seed);
        const got = new Uint8Array((k + 7) >> 3).fill(0);
        const lost = new Set(lossPicks.map((p) => p % k));
        for (let i = 0; i < k; i++) if (!lost.has(i)) got[i >> 3] |= 0x80 >> (i & 7);
        const missing = [...lost].sort((a, b) => a - b);
        const dec = make(k, bs, rows);
        const ids = new Uint16Array(rows);
        const stored: Uint8Array[] = [];
        const held = (i: number) => { expect(got[i >> 3] & (0x80 >> (i & 7))).not.toBe(0); return img.blocks[i]; };
        expect(dec.rebuild(got, ids, 0, held, (s) => stored[s])).toBe(0);
        expect(dec.lacking()).toBe(missing.length);
        const offered: number[] = [];
        for (let s = 0; s < missing.length + extra && dec.lacking() > 0; s++) {
          const j = repairIndex(degrees[s % degrees.length], s & 0xff);
          offered.push(j);
          if (!dec.offer(j)) continue;
          ids[stored.length] = j;
          stored.push(img.repair(j));
          dec.keep(stored.length - 1, stored[stored.length - 1], held);
        }
        // the rank is the true rank of what was offered, bounded by the rows the meter keeps
        expect(missing.length - dec.lacking()).toBe(Math.min(referenceRank(k, missing, offered), rows, missing.length));
        // rebuilding from the stored indices (a restart: a new decoder) gives the same rank
        const rank = missing.length - dec.lacking();
        expect(dec.rebuild(got, ids, stored.length, held, (s) => stored[s])).toBe(rank);
        const again = make(k, bs, rows);
        expect(again.rebuild(got, ids, stored.length, held, (s) => stored[s])).toBe(rank);
        // the receiver marks a recovered block held as it writes it: a solver must never read
        // one back as a held block (it is not in the repair sets' held parts)
        const written = new Map<number, Uint8Array>();
        const read = (i: number) => { expect(lost.has(i)).toBe(false); return img.blocks[i]; };
        const e = dec.solve((i) => (i === k - 1 ? last : bs), read, (s) => stored[s], (i, d) => { written.set(i, new Uint8Array(d)); got[i >> 3] |= 0x80 >> (i & 7); return 0; });
        if (dec.lacking() > 0) { expect(e).toBe(-1); expect(written.size).toBe(0); return; }
        expect(e).toBe(0);
        expect([...written.keys()].sort((a, b) => a - b)).toEqual(missing);
        for (const i of missing) expect(written.get(i)).toEqual(img.blocks[i]);
      }), { numRuns: 300 });
  });

  it("needs few repair blocks beyond the deficit at the degree the concentrator picks (LAMBDA K / m)", () => {
    // 310 blocks, 31 and 62 missing: the overhead over 40 trials stays small
    for (const m of [31, 62]) {
      let over = 0;
      for (let t = 0; t < 40; t++) {
        const k = 310, got = new Uint8Array(39).fill(0xff);
        let x = t + 1, lost = 0;
        while (lost < m) {
          x = (x * 1103515245 + 12345) >>> 0;
          const b = (x >>> 8) % k;
          if (got[b >> 3] & (0x80 >> (b & 7))) { got[b >> 3] &= ~(0x80 >> (b & 7)); lost++; }
        }
        const dec = make(k, 4, m), img = imageOf(k, 4, 4, t);
        const ids = new Uint16Array(m);
        dec.rebuild(got, ids, 0, (i) => img.blocks[i]);
        const degree = Math.min(127, Math.round((LAMBDA * k) / m));
        let sent = 0, n = 0;
        while (dec.lacking() > 0 && sent < 255) { const j = repairIndex(degree, sent++); if (dec.offer(j)) { ids[n] = j; dec.keep(n++, img.repair(j), (i) => img.blocks[i]); } }
        expect(dec.lacking()).toBe(0);
        over += sent - m;
      }
      expect(over / 40).toBeLessThan(4);
    }
  });

  it("follows plain blocks, repair blocks, restarts and lost blocks in any order: the rank is always the true rank, and the full rank recovers the image", () => {
    // what the receiver does: after each change it calls rebuild (the rows decoder catches up
    // with what arrived, or starts over from flash after a loss); a restart is a new decoder
    fc.assert(fc.property(
      fc.integer({ min: 8, max: 90 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.tuple(fc.constantFrom("plain", "repair", "repair", "repair", "restart", "lose-block", "lose-slot"), fc.integer({ min: 0, max: 1 << 20 })), { minLength: 1, maxLength: 120 }),
      (k, rows, seed, ops) => {
        const bs = 12, img = imageOf(k, bs, 1 + (seed % bs), seed);
        const got = new Uint8Array((k + 7) >> 3);
        const has = (i: number) => (got[i >> 3] & (0x80 >> (i & 7))) !== 0;
        // the first broadcast: about 70% of the blocks
        let x = seed || 1;
        for (let i = 0; i < k; i++) { x = (x * 1103515245 + 12345) >>> 0; if ((x >>> 8) % 10 < 7) got[i >> 3] |= 0x80 >> (i & 7); }
        const ids = new Uint16Array(rows).fill(FREE), stored: Uint8Array[] = new Array(rows);
        const held = (i: number) => { expect(has(i)).toBe(true); return img.blocks[i]; };
        const repair = (t: number) => { expect(ids[t]).not.toBe(FREE); return stored[t]; };
        let dec = make(k, bs, rows), serial = 0;
        const check = () => {
          const missing: number[] = [];
          for (let i = 0; i < k; i++) if (!has(i)) missing.push(i);
          dec.rebuild(got, ids, rows, held, repair);
          expect(dec.lacking()).toBe(missing.length - referenceRank(k, missing, [...ids].filter((j) => j !== FREE)));
          return missing;
        };
        check();
        for (const [op, v] of ops) {
          const missing = check();
          if (op === "plain" && missing.length) { const b = missing[v % missing.length]; got[b >> 3] |= 0x80 >> (b & 7); }
          else if (op === "repair") {
            const free = ids.indexOf(FREE), j = repairIndex(1 + (v % 40), serial++ & 0xff);
            if (free >= 0 && dec.offer(j)) { ids[free] = j; stored[free] = img.repair(j); dec.keep(free, stored[free], held); }
          } else if (op === "restart") dec = make(k, bs, rows);
          else if (op === "lose-block") { const b = v % k; got[b >> 3] &= ~(0x80 >> (b & 7)); }
          else if (op === "lose-slot") ids[v % rows] = FREE;
        }
        const missing = check();
        if (dec.lacking() || !missing.length) return;
        const out = new Map<number, Uint8Array>();
        expect(dec.solve((i) => img.blocks[i].length, held, repair, (i, d) => { out.set(i, new Uint8Array(d)); return 0; })).toBe(0);
        expect([...out.keys()].sort((a, b) => a - b)).toEqual(missing);
        for (const i of missing) expect(out.get(i)).toEqual(img.blocks[i]);
      }), { numRuns: 400 });
  });

  it("rebuilt after a plain block arrives (a straggler's), counts its rank over the new missing set, skips free slots, and recovers the rest", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
      const k = 60, bs = 16, rows = 6, img = imageOf(k, bs, bs, seed);
      const lost = new Set<number>();
      let x = seed || 1;
      while (lost.size < 10) { x = (x * 1103515245 + 12345) >>> 0; lost.add((x >>> 8) % k); }
      const got = new Uint8Array(8).fill(0);
      for (let i = 0; i < k; i++) if (!lost.has(i)) got[i >> 3] |= 0x80 >> (i & 7);
      const dec = make(k, bs, rows), ids = new Uint16Array(rows).fill(FREE), stored: Uint8Array[] = new Array(rows);
      const held = (i: number) => { expect(got[i >> 3] & (0x80 >> (i & 7))).not.toBe(0); return img.blocks[i]; };
      dec.rebuild(got, ids, rows, held, (t) => stored[t]);
      // repair blocks into slots 1, 3, 5... (slot 0 stays free), until the room is full
      let slot = 1;
      for (let s = 0; s < 200 && slot < rows; s++) {
        const j = repairIndex(9, s);
        if (!dec.offer(j)) continue;
        ids[slot] = j; stored[slot] = img.repair(j); dec.keep(slot, stored[slot], held); slot += 2;
        if (slot >= rows) break;
      }
      expect(dec.lacking()).toBe(10 - 3);
      // plain blocks arrive until only as many are missing as repair blocks were kept
      const plain = [...lost].slice(0, 7);
      for (const b of plain) got[b >> 3] |= 0x80 >> (b & 7);
      const missing = [...lost].filter((b) => !plain.includes(b)).sort((a, b) => a - b);
      const kept = [...ids].filter((j) => j !== FREE);
      expect(dec.rebuild(got, ids, rows, held, (t) => stored[t])).toBe(Math.min(referenceRank(k, missing, kept), 3));
      if (dec.lacking()) return;
      const out = new Map<number, Uint8Array>();
      expect(dec.solve(() => bs, (i) => img.blocks[i], (t) => stored[t], (i, d) => { out.set(i, new Uint8Array(d)); return 0; })).toBe(0);
      expect([...out.keys()].sort((a, b) => a - b)).toEqual(missing);
      for (const i of missing) expect(out.get(i)).toEqual(img.blocks[i]);
    }), { numRuns: 100 });
  });
});

describe("the repair sets", () => {
  it("draws distinct blocks, as many as the degree says, the same on every call", () => {
    const sets = repairSets(50);
    for (let j = 0; j < 0x7fff; j += 97) {
      const d = sets.set(j);
      expect(d).toBe(repairDegree(j, 50));
      const first = [...sets.out.subarray(0, d)];
      expect(new Set(first).size).toBe(d);
      expect(first.every((b) => b < 50)).toBe(true);
      sets.set(j);
      expect([...sets.out.subarray(0, d)]).toEqual(first);
    }
  });
});

/** A rows decoder over a 30-block image of 8-byte blocks with `lost` missing, 6 rows, rebuilt and empty. */
function small(seed: number, lost: number[]) {
  const k = 30, bs = 8, rows = 6, img = imageOf(k, bs, bs, seed);
  const got = new Uint8Array(4);
  for (let i = 0; i < k; i++) if (!lost.includes(i)) got[i >> 3] |= 0x80 >> (i & 7);
  const dec = rowsDecoder(k, bs, rows), ids = new Uint16Array(rows).fill(FREE), stored: Uint8Array[] = [];
  const held = (i: number) => img.blocks[i];
  dec.rebuild(got, ids, rows, held, (t) => stored[t]);
  return { bs, img, dec, ids, stored, held, lost };
}

describe("the rows decoder's contract", () => {
  it("keeps nothing on a second keep() without an offer", () => {
    const { bs, img, dec, ids, stored, held, lost } = small(11, [1, 8, 16, 24]);
    let s = 0;
    while (!dec.offer(repairIndex(5, s))) s++;
    ids[0] = repairIndex(5, s);
    stored.push(img.repair(ids[0]));
    dec.keep(0, stored[0], held);
    const lacking = dec.lacking();
    // the same row again, in another slot, with other bytes: nothing changes
    dec.keep(1, new Uint8Array(bs).fill(0xa5), held);
    expect(dec.lacking()).toBe(lacking);
    for (s++; dec.lacking() > 0; s++) { const j = repairIndex(5, s); if (dec.offer(j)) { ids[stored.length] = j; stored.push(img.repair(j)); dec.keep(stored.length - 1, stored[stored.length - 1], held); } }
    const out = new Map<number, Uint8Array>();
    expect(dec.solve(() => bs, held, (t) => stored[t], (i, d) => { out.set(i, new Uint8Array(d)); return 0; })).toBe(0);
    for (const i of lost) expect(out.get(i)).toEqual(img.blocks[i]);
  });

  it("keeps nothing when keep() follows a refused offer: the rank, and the blocks it recovers, stay right", () => {
    const { bs, img, dec, ids, stored, held, lost } = small(7, [2, 9, 17, 25]);
    let s = 0;
    for (; dec.lacking() > 0; s++) { const j = repairIndex(5, s); if (dec.offer(j)) { ids[stored.length] = j; stored.push(img.repair(j)); dec.keep(stored.length - 1, stored[stored.length - 1], held); } }
    // at full rank every offer is refused; a caller that keeps one anyway (garbage in a free slot) changes nothing
    expect(dec.offer(repairIndex(5, s))).toBe(false);
    dec.keep(stored.length, new Uint8Array(bs).fill(0x5a), held);
    expect(dec.lacking()).toBe(0);
    const out = new Map<number, Uint8Array>();
    expect(dec.solve(() => bs, held, (t) => stored[t], (i, d) => { out.set(i, new Uint8Array(d)); return 0; })).toBe(0);
    expect([...out.keys()].sort((a, b) => a - b)).toEqual(lost);
    for (const i of lost) expect(out.get(i)).toEqual(img.blocks[i]);
  });
});

describe("the rows decoder at a meter's geometry", () => {
  it("recovers a 64 KiB image's 85 missing blocks of 212 bytes (the last one 28) with the block XORs of reduced rows built as they come", () => {
    // the bench's worst meter (bench/decode-cost.ts big case): K = 310, 20% loss planned for,
    // 85 lost, 128 rows, degree 6 K / d at the campaign's first pass. The XOR counts are what
    // the decoder before its kernels did (3a554b6: 1,419 / 1,658 on this pattern): the same
    // rows and pivots, only cheaper statements, so a change in them is a change of method
    const k = 310, bs = 212, rows = 128;
    let x = 0x1234567;
    const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    const blocks: Uint8Array[] = [];
    for (let i = 0; i < k; i++) blocks.push(Uint8Array.from({ length: i === k - 1 ? 65536 - 309 * bs : bs }, () => rnd() & 255));
    const lost = new Set<number>();
    while (lost.size < 85) lost.add(rnd() % k);
    const got = new Uint8Array((k + 7) >> 3);
    for (let i = 0; i < k; i++) if (!lost.has(i)) got[i >> 3] |= 0x80 >> (i & 7);
    const sets = repairSets(k);
    const repair = (j: number) => { const o = new Uint8Array(bs); const d = sets.set(j); for (let i = 0; i < d; i++) xorInto(o, blocks[sets.out[i]]); return o; };
    const dec = rowsDecoder(k, bs, rows), ids = new Uint16Array(rows).fill(FREE), stored: Uint8Array[] = [];
    dec.rebuild(got, ids, rows, (i) => blocks[i], (t) => stored[t]);
    let offered = 0;
    for (let s = 0; dec.lacking() > 0; s++) {
      const j = repairIndex(24, s);
      offered++;
      if (dec.offer(j)) { ids[stored.length] = j; stored.push(repair(j)); dec.keep(stored.length - 1, stored[stored.length - 1], (i) => blocks[i]); }
    }
    expect([offered, stored.length]).toEqual([85, 85]);
    const out = new Map<number, Uint8Array>();
    expect(dec.solve((i) => blocks[i].length, (i) => blocks[i], (t) => stored[t], (i, d) => { out.set(i, new Uint8Array(d)); return 0; })).toBe(0);
    expect([...out.keys()].sort((a, b) => a - b)).toEqual([...lost].sort((a, b) => a - b));
    for (const i of lost) expect(out.get(i)).toEqual(blocks[i]);
    expect(out.get(k - 1)?.length ?? 28).toBe(28);
    expect(dec.work).toEqual({ cleanXors: 1419, rowXors: 1658, reads: 1419 });
  });
});

describe("the decoders, side by side", () => {
  it("stop at the first write error and report it; the streamed one reads each block it XORs once per missing block", () => {
    const k = 40, bs = 8, rows = 5, img = imageOf(k, bs, bs, 99);
    const lost = [3, 11, 12, 27, 39];
    const got = new Uint8Array(5).fill(0);
    for (let i = 0; i < k; i++) if (!lost.includes(i)) got[i >> 3] |= 0x80 >> (i & 7);
    for (const [, make] of DECODERS) {
      const dec = make(k, bs, rows), ids = new Uint16Array(rows).fill(FREE), stored: Uint8Array[] = [];
      dec.rebuild(got, ids, rows, (i) => img.blocks[i], (t) => stored[t]);
      for (let s = 0; dec.lacking() > 0; s++) { const j = repairIndex(7, s); if (dec.offer(j)) { ids[stored.length] = j; stored.push(img.repair(j)); dec.keep(stored.length - 1, stored[stored.length - 1], (i) => img.blocks[i]); } }
      const order: number[] = [];
      expect(dec.solve(() => bs, (i) => img.blocks[i], (t) => stored[t], (i, d) => { order.push(i); expect([...d]).toEqual([...img.blocks[i]]); return order.length === 2 ? 77 : 0; })).toBe(77);
      expect(order.length).toBe(2);
    }
    // streamed: the work is one buffer's: per missing block, the repair blocks of its inverse
    // row and the held blocks named an odd number of times, each read once
    const dec = decoder(k, bs, rows), ids = new Uint16Array(rows).fill(FREE), stored: Uint8Array[] = [];
    dec.rebuild(got, ids, rows);
    for (let s = 0; dec.lacking() > 0; s++) { const j = repairIndex(7, s); if (dec.offer(j)) { ids[stored.length] = j; stored.push(img.repair(j)); dec.keep(stored.length - 1); } }
    let reads = 0;
    expect(dec.solve(() => bs, (i) => { reads++; return img.blocks[i]; }, (t) => { reads++; return stored[t]; }, () => 0)).toBe(0);
    expect(dec.work.reads).toBe(reads);
    expect(dec.work.rowXors + dec.work.cleanXors).toBe(reads);
    expect(dec.work.rowXors).toBeGreaterThanOrEqual(rows);
  });
});
