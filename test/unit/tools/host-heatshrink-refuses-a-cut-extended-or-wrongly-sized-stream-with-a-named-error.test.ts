/*
 * What the host's decompress() does with a stream an encoder did not write whole: the
 * interpreter's decoder reads any bits as tokens and stops silently where they run out,
 * so a cut or extended stream gives it shorter or longer output and no error. The host
 * throws a HeatshrinkError ("truncated": the stream does not end as an encoder ends it;
 * "corrupt": a back-reference no encoder writes; "size": the output is not the size
 * expected) and always ends (every token takes 9 bits or more).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { compress, decompress, HeatshrinkError, type HeatshrinkFault } from "../../../tools/image/heatshrink";

const plain = new Uint8Array(readFileSync("test/fixtures/heatshrink/meter-ESPRUINOBOARD-03.plain"));
const stream = compress(plain);

/** The reason decompress() refused, or null when it returned. */
function refusal(s: Uint8Array, size?: number): HeatshrinkFault | null {
  try {
    decompress(s, size);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(HeatshrinkError);
    expect((e as Error).name).toBe("HeatshrinkError");
    expect((e as Error).message).toMatch(/^heatshrink: /);
    return (e as HeatshrinkError).reason;
  }
}

/** A xorshift32 stream of `n` bytes from `seed`. */
function garbage(n: number, seed: number): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x & 0xff; });
}

describe("host decompress() refuses what an encoder did not write whole", () => {
  it("a stream cut by its last byte: truncated, saying where", () => {
    const cut = stream.subarray(0, stream.length - 1);
    expect(refusal(cut)).toBe("truncated");
    expect(() => decompress(cut)).toThrow(new RegExp(`ends inside a token: its last \\d+ bits \\(from byte \\d+ of ${cut.length}\\)`));
  });

  it("every cut of a stream: refused, or (with no size given) a strict prefix of the plain bytes; with the size, always refused", () => {
    let refused = 0;
    for (let n = 0; n < stream.length; n++) {
      const cut = stream.subarray(0, n);
      expect(refusal(cut, plain.length), `cut at ${n}`).not.toBeNull();
      const why = refusal(cut);
      if (why) { refused++; continue; }
      const out = decompress(cut);
      expect(out.length, `cut at ${n}`).toBeLessThan(plain.length);
      expect(out, `cut at ${n}`).toEqual(plain.subarray(0, out.length));
    }
    // most cuts end inside a token; some fall where the bits left over are a few zeros
    expect(refused / stream.length).toBeGreaterThan(0.7);
  });

  it("a byte added after the end: 0x00 is refused as corrupt; 0xFF reads as 64 bytes more unless the size is given", () => {
    // this stream ends in 7 zero bits of padding: with 8 more bits they make a whole back-reference
    const longer = (extra: number) => { const l = new Uint8Array(stream.length + 1); l.set(stream); l[stream.length] = extra; return l; };
    // tag 0, distance 1, length 1
    expect(refusal(longer(0x00))).toBe("corrupt");
    expect(() => decompress(longer(0x00))).toThrow(/a back-reference of 1 byte at byte \d+ of \d+: no encoder writes one/);
    // tag 0, distance 4, length 64: well formed, as the interpreter would read it too; only the size tells
    const out = decompress(longer(0xff));
    expect(out.length).toBe(plain.length + 64);
    expect(out.subarray(0, plain.length)).toEqual(plain);
    expect(refusal(longer(0xff), plain.length)).toBe("size");
  });

  it("non-zero padding: one byte with a back-reference's tag, then 1s", () => {
    expect(refusal(Uint8Array.of(0x01))).toBe("truncated");
    expect(refusal(Uint8Array.of(0x00))).toBe("truncated"); // 8 zero bits: a whole byte no encoder writes
    expect(refusal(Uint8Array.of(0x00, 0x00))).toBe("corrupt"); // distance 1, length 1
    expect(decompress(Uint8Array.of())).toEqual(new Uint8Array(0));
  });

  it("the wrong size: too short and too long both refused as size, naming the size expected", () => {
    expect(refusal(stream, plain.length - 1)).toBe("size");
    expect(refusal(stream, plain.length + 1)).toBe("size");
    expect(() => decompress(stream, 1000)).toThrow(/passes the 1000 bytes expected/);
    expect(() => decompress(stream, plain.length + 1)).toThrow(new RegExp(`is ${plain.length} bytes, ${plain.length + 1} expected`));
  });

  it("a stream that expands 34 times (all 64-byte back-references) stops at the size expected, not at its end", () => {
    // tag 0, distance 1, length 64: 15 bits for 64 bytes, read back from the window's zeros
    const bits = "0" + "00000000" + "111111";
    const n = 8000, s = new Uint8Array(Math.ceil((bits.length * n) / 8));
    for (let i = 0; i < bits.length * n; i++) if (bits[i % bits.length] === "1") s[i >> 3] |= 0x80 >> (i & 7);
    expect(refusal(s, 4096)).toBe("size");
    // 4,096 bytes are 64 tokens: it stops in the stream's first 121 bytes, of 15,000
    expect(() => decompress(s, 4096)).toThrow(/passes the 4096 bytes expected \(at byte \d+ of 15000\)/);
    let message = "";
    try { decompress(s, 4096); } catch (e) { message = (e as Error).message; }
    const where = /at byte (\d+) of 15000/.exec(message);
    expect(Number(where?.[1])).toBeLessThan(125);
    const all = decompress(s.subarray(0, (bits.length * 8) / 8));
    expect(all).toEqual(new Uint8Array(64 * 8)); // 8 tokens, 15 bytes, no padding left
  });

  it("garbage: 2,000 pseudo-random streams of 1 to 300 bytes always end; with a size expected every one is refused", () => {
    const reasons: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      const g = garbage(1 + (i % 300), 0x9e3779b9 ^ i);
      expect(refusal(g, 2048), `garbage ${i}`).not.toBeNull();
      const why = refusal(g) ?? "read";
      reasons[why] = (reasons[why] ?? 0) + 1;
    }
    // without a size, a few streams happen to end in zero padding and read as something
    expect(reasons.truncated + reasons.corrupt).toBeGreaterThan(1800);
    expect(reasons.truncated + reasons.corrupt + (reasons.read ?? 0)).toBe(2000);
  });
});
