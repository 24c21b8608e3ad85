/*
 * The concentrator's readings store (firmware/concentrator/store.ts) on a mock Storage:
 * stable positions, export from a position, acknowledgement kept across restarts, a bound
 * that frees only acknowledged files and otherwise refuses (never drops) a reading, and a
 * power cut at any Storage operation losing nothing that was stored before it.
 */
import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { PowerCut } from "../../../hal/mock/flash";
import { readingStore, STORE_PREFIX } from "../../../firmware/concentrator/store";
import { Err } from "../../../firmware/common/errors";

const line = (k: number) => `${1000 + (k % 7)},1-0:1.8.0,${k},30,0,${1_790_000_000 + k},0`;
const all = (s: ReturnType<typeof readingStore>, from = 0) => { const out: [number, string][] = []; s.since(from, 1e6, (l, p) => out.push([p, l])); return out; };

describe("the readings store", () => {
  it("gives every reading a position that never changes, and exports from any position on", () => {
    const st = new MockStorage();
    const s = readingStore(st, 100, 8, () => {});
    for (let k = 0; k < 350; k++) s.append(line(k));
    expect([...st.files.keys()].filter((n) => n.startsWith(STORE_PREFIX)).sort()).toEqual(["ml.r0", "ml.r1", "ml.r2", "ml.r3"]);
    expect(all(s)).toEqual(Array.from({ length: 350 }, (_, k) => [k, line(k)]));
    const got: number[] = [];
    expect(s.since(120, 10, (_l, p) => got.push(p))).toBe(130);
    expect(got).toEqual(Array.from({ length: 10 }, (_, k) => 120 + k));
    expect(s.since(340, 100, () => {})).toBe(350);
    expect(s.end()).toBe(350);
    // a restart reads the same positions back
    expect(all(readingStore(st, 100, 8, () => {}))).toEqual(all(s));
  });

  it("bounded: refuses a reading when full of unacknowledged ones (nothing dropped), frees only wholly acknowledged files, oldest first", () => {
    const st = new MockStorage();
    const freed: string[] = [];
    const s = readingStore(st, 100, 3, (l) => freed.push(l));
    for (let k = 0; k < 300; k++) s.append(line(k));
    expect(() => s.append(line(300))).toThrow();
    expect(all(s).length).toBe(300);
    expect(s.ack(150)).toBe(0); // the file of 0..99 goes; 100..199 is not wholly acknowledged
    expect(freed).toEqual(Array.from({ length: 100 }, (_, k) => line(k)));
    expect(s.start()).toBe(100);
    // room for the next file (its first line is the acknowledgement itself)
    for (let k = 300; k < 399; k++) s.append(line(k));
    expect(() => s.append(line(399))).toThrow();
    expect(all(s).map(([p]) => p)[0]).toBe(100);
    expect(s.ack(99_999)).toBe(Err.BAD_ARG);
    // after a restart: the acknowledgement, the kept lines, the same positions
    const again = readingStore(st, 100, 3, () => {});
    expect(again.acked()).toBe(150);
    expect(all(again)).toEqual(all(s));
    expect(all(again, 150)[0][0]).toBe(150);
  });

  it("Storage full: room comes from acknowledged files only; otherwise the reading is refused", () => {
    const st = new MockStorage(8000);
    const s = readingStore(st, 50, 100, () => {});
    let k = 0;
    try { for (;; k++) s.append(line(k)); } catch (e) { expect((e as Error).message).toBe("Storage full"); }
    const n = all(s).length;
    expect(n).toBe(k);
    expect(s.ack(60)).toBe(0); // frees the first file (positions 0..49)
    s.append(line(k));
    expect(all(s).length).toBe(n + 1 - 50);
  });

  it("a power cut at any Storage operation keeps every reading stored before it, at its position, and the newest acknowledgement or the one before", () => {
    // a history: 260 readings with acknowledgements along the way, files of 40, at most 5
    const run = (st: MockStorage) => {
      const s = readingStore(st, 40, 5, () => {});
      const stored = new Map<number, string>();
      let acked = 0;
      try {
        for (let k = 0; k < 260; k++) {
          s.append(line(k));
          stored.set(s.end() - 1, line(k));
          if (k % 37 === 36 && s.ack(s.end() - 10) === 0) acked = s.acked();
        }
      } catch (e) {
        expect(e).toBeInstanceOf(PowerCut);
      }
      return { stored, acked };
    };
    const probe = new MockStorage();
    run(probe);
    const total = probe.count;
    expect(total).toBeGreaterThan(260);
    for (let cut = 0; cut < total; cut++) {
      const st = new MockStorage(1 << 20, cut + 7);
      st.cutAt(cut);
      const before = run(st);
      expect(st.off).toBe(true);
      st.powerOn();
      const after = readingStore(st, 40, 5, () => {});
      const kept = new Map(all(after));
      // every reading whose append returned is there at its position, unless acknowledged and freed
      for (const [p, l] of before.stored) if (p >= after.start()) expect(kept.get(p), `cut ${cut}, position ${p}`).toBe(l);
      // nothing else but the one being appended when the power went
      const extra = [...kept.keys()].filter((p) => !before.stored.has(p));
      expect(extra.length).toBeLessThanOrEqual(1);
      expect(after.acked()).toBeGreaterThanOrEqual(before.acked);
      // and it goes on
      after.append(line(999));
      expect(all(after).pop()).toEqual([after.end() - 1, line(999)]);
    }
  });
});
