import { describe, expect, it } from "vitest";
import { CUT_MODES, FlashRuleError, MockFlash, modesFor, PowerCut } from "../../../hal/mock/flash";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 2048, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 2 }] };
const data = Uint8Array.from({ length: 16 }, (_, i) => i);

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

function primed(): MockFlash {
  const f = new MockFlash(g);
  f.write(0, new Uint8Array(16)); // op 0: zeros in unit 0
  return f;
}

describe("mock flash power cuts", () => {
  it("cut before operation k: the operation does not happen", () => {
    const f = primed();
    f.planCut({ op: 1, mode: "before" });
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    f.reboot();
    expect([...f.read(1024, 16)]).toEqual(Array(16).fill(0xff));
  });

  it("cut after operation k: the operation completes, then the power goes", () => {
    const f = primed();
    f.planCut({ op: 1, mode: "after" });
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    f.reboot();
    expect([...f.read(1024, 16)]).toEqual([...data]);
  });

  it("after a cut nothing reaches the flash until reboot", () => {
    const f = primed();
    f.planCut({ op: 1, mode: "after" });
    expect(() => f.erase(0)).toThrow(PowerCut);
    expect(f.powerLost).toBe(true);
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    expect(() => f.read(0, 4)).toThrow(PowerCut);
    f.reboot();
    expect(f.powerLost).toBe(false);
    expect([...f.read(1024, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(f.ops).toBe(2);
  });

  it("torn write: only the first part is programmed and the next byte only partly", () => {
    const f = new MockFlash(g);
    const ones = new Uint8Array(16).fill(0);
    f.planCut({ op: 0, mode: "torn", fraction: 0.25 });
    expect(() => f.write(0, ones)).toThrow(PowerCut);
    f.reboot();
    const b = f.read(0, 16);
    expect([...b.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(b[4]).toBe(0x0f); // high bits cleared, low bits not yet
    expect([...b.subarray(5)]).toEqual(Array(11).fill(0xff));
    // the torn word cannot be programmed again without an erase, as on a real chip
    expect(() => f.write(4, new Uint8Array(4))).toThrow(/programmed twice/);
    // words the write never reached are still writable
    f.write(8, new Uint8Array(4));
  });

  it("half-erased page: part of the unit is erased, the rest keeps its old bytes", () => {
    const f = new MockFlash(g);
    f.write(0, new Uint8Array(1024));
    f.planCut({ op: 1, mode: "half-erase", fraction: 0.5 });
    expect(() => f.erase(0)).toThrow(PowerCut);
    f.reboot();
    expect(f.read(0, 512).every((x) => x === 0xff)).toBe(true);
    expect(f.read(512, 512).every((x) => x === 0)).toBe(true);
    // the erased half is writable again, the other half is not
    f.write(0, new Uint8Array(4));
    expect(() => f.write(512, new Uint8Array(4))).toThrow(/programmed twice|set bits/);
  });

  it("operations are counted over the flash's life and a plan strikes once", () => {
    const f = new MockFlash(g);
    f.recordLog = true;
    f.erase(0);
    f.write(0, data);
    f.erase(1024);
    expect(f.ops).toBe(3);
    expect(f.log.map((o) => o.kind)).toEqual(["erase", "write", "erase"]);
    f.planCut({ op: 3, mode: "before" });
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    f.reboot();
    f.write(1024, data); // the spent plan does not strike again
    expect(f.ops).toBe(5);
  });

  it("noisy write: each bit it was to clear, anywhere in its range, is cleared or not at random; none it was to keep; every word counts as programmed", () => {
    const n = 256;
    // old content: some bits already cleared
    const old = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff | 0x81);
    // the data clears bits everywhere but in the word at 128, which it leaves as it is
    const data = Uint8Array.from({ length: n }, (_, i) => (i >> 2 === 32 ? old[i] : old[i] & ((i * 101 + 7) & 0xff)));
    const noisy = (seed: number) => {
      const f = new MockFlash(g, old); // bits as a chip may hold them (words not marked programmed)
      f.planCut({ op: 0, mode: "noisy-write", seed });
      expect(() => f.write(0, data)).toThrow(PowerCut);
      f.reboot();
      return f;
    };
    const f = noisy(7);
    const got = f.read(0, n);
    let cleared = 0, kept = 0, lateCleared = false, earlyKept = false;
    for (let i = 0; i < n; i++) {
      expect(got[i] & ~old[i], `byte ${i}: a bit was set`).toBe(0); // NOR: a write never sets a bit
      expect(got[i] & data[i], `byte ${i}: a bit the data keeps was cleared`).toBe(data[i]);
      const toClear = old[i] & ~data[i] & 0xff;
      cleared += popcount(toClear & ~got[i]);
      kept += popcount(toClear & got[i]);
      if (i >= n - 16 && toClear & ~got[i]) lateCleared = true; // not only a prefix
      if (i < 16 && toClear & got[i]) earlyKept = true; // nor a whole prefix
    }
    expect(cleared).toBeGreaterThan(100);
    expect(kept).toBeGreaterThan(100);
    expect(lateCleared && earlyKept).toBe(true);
    // every word of the range counts as programmed, also one whose bits all stayed
    expect([...got.subarray(128, 132)]).toEqual([...old.subarray(128, 132)]);
    for (let a = 0; a < n; a += 4) expect(() => f.write(a, f.read(a, 4))).toThrow(/programmed twice/);
    f.write(n, new Uint8Array(4)); // past the range: writable
    // the plan's seed reproduces the bits; another seed gives others
    expect([...noisy(7).read(0, n)]).toEqual([...got]);
    expect([...noisy(8).read(0, n)]).not.toEqual([...got]);
  });

  it("noisy erase: every byte of the unit reads old | random; a word reading all ones is writable, any other is not", () => {
    const noisy = (seed: number) => {
      const f = new MockFlash(g);
      f.write(0, Uint8Array.from({ length: 960 }, (_, i) => (i & 1 ? 0 : 0xa5))); // the last 64 bytes stay erased
      f.write(1024, new Uint8Array(16)); // the other unit: untouched by the cut
      f.planCut({ op: 2, mode: "noisy-erase", seed });
      expect(() => f.erase(0)).toThrow(PowerCut);
      f.reboot();
      return f;
    };
    const f = noisy(3);
    const b = f.read(0, 1024);
    let ones = 0;
    for (let i = 0; i < 1024; i++) {
      const old = i >= 960 ? 0xff : i & 1 ? 0 : 0xa5;
      expect(b[i] & old, `byte ${i}: a bit was cleared`).toBe(old); // NOR: an erase never clears a bit
      ones += popcount(b[i] & ~old);
    }
    // about half the bits that were 0 are 1 now: neither erased nor as it was
    expect(ones).toBeGreaterThan(960 * 2);
    expect(ones).toBeLessThan(960 * 4);
    expect(b.some((x) => x !== 0xff)).toBe(true);
    expect([...f.read(1024, 16)]).toEqual(Array(16).fill(0));
    let refused = 0, writable = 0;
    for (let a = 0; a < 1024; a += 4) {
      const w = f.read(a, 4);
      if (w.every((x) => x === 0xff)) { f.write(a, new Uint8Array(4)); writable++; }
      else { expect(() => f.write(a, w), `word at ${a}`).toThrow(FlashRuleError); refused++; }
    }
    expect(refused).toBeGreaterThan(200);
    expect(writable).toBeGreaterThanOrEqual(16); // at least the words that were erased already
    // a real erase makes the unit whole again
    f.erase(0);
    expect(f.read(0, 1024).every((x) => x === 0xff)).toBe(true);
    f.write(0, new Uint8Array(1024));
    expect([...noisy(3).read(0, 1024)]).toEqual([...b]);
    expect([...noisy(4).read(0, 1024)]).not.toEqual([...b]);
  });

  it("CUT_MODES lists every mode; a mode of the other kind of operation completes it, then cuts", () => {
    expect([...CUT_MODES].sort()).toEqual(["after", "before", "half-erase", "noisy-erase", "noisy-write", "torn"]);
    expect(modesFor("write")).toEqual(["before", "after", "torn", "noisy-write"]);
    expect(modesFor("erase")).toEqual(["before", "after", "half-erase", "noisy-erase"]);
    for (const mode of ["half-erase", "noisy-erase"] as const) {
      const f = primed();
      f.planCut({ op: 1, mode });
      expect(() => f.write(1024, data)).toThrow(PowerCut);
      f.reboot();
      expect([...f.read(1024, 16)]).toEqual([...data]);
    }
    for (const mode of ["torn", "noisy-write"] as const) {
      const f = primed();
      f.planCut({ op: 1, mode });
      expect(() => f.erase(0)).toThrow(PowerCut);
      f.reboot();
      expect(f.read(0, 1024).every((x) => x === 0xff)).toBe(true);
    }
  });
});
