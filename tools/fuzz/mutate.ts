/*
 * Byte mutations for the fuzz targets (tools/fuzz/targets.ts): a valid input is built from
 * its format, then a few of these are applied to a copy of it. Each mutation is three
 * numbers drawn by fast-check (an operation, a position seed, a value seed), so inputs
 * shrink and replay from a seed like any other arbitrary.
 *
 *   flip      one bit                      set       one byte to an edge value or any byte
 *   truncate  to a shorter length          extend    1 to 8 bytes appended
 *   insert    one byte anywhere            delete    one byte
 *   copy      a run of bytes copied over another place (a field repeated, a record moved)
 *   field     a length or count field named by the format moved by -2..+2 or set to an edge value
 */
import fc from "fast-check";

export type Mutation = [op: number, at: number, value: number];

const OPS = 8;
const EDGES = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

/** One mutation. */
export const mutation: fc.Arbitrary<Mutation> = fc.tuple(fc.nat(OPS - 1), fc.nat(), fc.nat());

/** One to `max` mutations. */
export function mutations(max = 3): fc.Arbitrary<Mutation[]> {
  return fc.array(mutation, { minLength: 1, maxLength: max });
}

/** A byte from a value seed: an edge value a third of the time, else the low byte. */
function byteOf(v: number): number {
  return v % 3 === 0 ? EDGES[(v >>> 2) % EDGES.length] : (v >>> 2) & 0xff;
}

/**
 * A mutated copy of `b`. `fields`: offsets of length or count bytes (a u8 each) the format
 * has; `field` mutations fall back to `flip` when there are none or they lie past the end.
 */
export function mutate(b: Uint8Array, ms: Mutation[], fields: number[] = []): Uint8Array {
  let x: number[] = Array.from(b);
  for (const [op, at, v] of ms) {
    const n = x.length;
    switch (op) {
      case 0: if (n) x[at % n] ^= 1 << (v & 7); break;
      case 1: if (n) x[at % n] = byteOf(v); break;
      case 2: x.length = n ? at % n : 0; break;
      case 3: for (let i = 0; i <= v % 8; i++) x.push(byteOf(v + i * 7919)); break;
      case 4: x.splice(at % (n + 1), 0, byteOf(v)); break;
      case 5: if (n) x.splice(at % n, 1); break;
      case 6: {
        if (!n) break;
        const from = at % n, to = v % n, run = x.slice(from, from + 1 + ((at >>> 8) % 16));
        for (let i = 0; i < run.length; i++) x[to + i] = run[i];
        break;
      }
      default: {
        const f = fields.filter((o) => o < n);
        if (!f.length) { if (n) x[at % n] ^= 1 << (v & 7); break; }
        const o = f[at % f.length], d = v % 6;
        x[o] = d < 4 ? (x[o] + [-2, -1, 1, 2][d]) & 0xff : d === 4 ? 0 : 0xff;
      }
    }
  }
  return Uint8Array.from(x);
}

/** Bytes as hex, for failure lines. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** `n` bytes from a seed (a small generator: contents fast-check need not shrink). */
export function seeded(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}
