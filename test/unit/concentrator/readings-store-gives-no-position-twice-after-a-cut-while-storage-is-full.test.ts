/*
 * The readings store (firmware/concentrator/store.ts) when Storage is full at a file's end:
 * the newest file holding lines is never the one freed. It was: a reading refused for room
 * left the next file counted though never written, and freeing the file before it (by an
 * ack, or for room) left no file at all until the next line; a power cut there and the
 * restart gave positions from 0 again, so a head-end asking from its next position skipped
 * the new readings. Now, while the newest file has no line yet, the one before it stays.
 * Found by the store fuzz target (tools/fuzz/stored.ts).
 */
import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { PowerCut } from "../../../hal/mock/flash";
import { readingStore } from "../../../firmware/concentrator/store";

const line = (k: number) => `1001,1-0:1.8.0,${k},30,0,${1790000000 + k},0`;

/** Readings until Storage refuses one, then everything acknowledged, then more readings: a cut at Storage operation `cut` of that (or none). */
function history(st: MockStorage, segLines: number, cut: number): { end: number } {
  const s = readingStore(st, segLines, 8, () => {});
  let end = 0, k = 0;
  try {
    for (;; k++) { s.append(line(k)); end = s.end(); }
  } catch (e) {
    if (e instanceof PowerCut) return { end };
  }
  if (cut >= 0) st.cutAt(st.count + cut);
  try {
    s.ack(s.end());
    end = Math.max(end, s.end());
    for (let j = 0; j < 3 * segLines; j++) {
      try { s.append(line(++k)); end = s.end(); } catch (e) { if (e instanceof PowerCut) throw e; }
      if (st.off) break;
      s.ack(s.end());
      if (st.off) break;
      end = Math.max(end, s.end());
    }
  } catch (e) {
    expect(e).toBeInstanceOf(PowerCut);
  }
  return { end };
}

describe("the readings store with Storage full at a file's end", () => {
  it("a power cut at any Storage operation of the acks and readings after it: the restart gives no position twice", () => {
    let cuts = 0;
    for (let segLines = 1; segLines <= 3; segLines++) {
      // Storage for one to three files' lines, a few bytes more or less
      for (let capacity = 40; capacity <= 150 * segLines; capacity += 3) {
        const probe = new MockStorage(capacity);
        history(probe, segLines, -1);
        for (let cut = 0; cut < 12; cut++) {
          for (const seed of [1, 2]) {
            const st = new MockStorage(capacity, seed);
            const h = history(st, segLines, cut);
            if (!st.off) continue;
            st.powerOn();
            cuts++;
            const again = readingStore(st, segLines, 8, () => {});
            expect(again.end(), `${segLines} lines a file, Storage of ${capacity} bytes, cut at operation ${cut} after the refusal`).toBeGreaterThanOrEqual(h.end);
          }
        }
      }
    }
    expect(cuts).toBeGreaterThan(100);
  });
});
