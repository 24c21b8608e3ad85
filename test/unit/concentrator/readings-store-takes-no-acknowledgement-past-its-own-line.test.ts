/*
 * The readings store (firmware/concentrator/store.ts) over a damaged acknowledgement line:
 * ack() writes "a,<position>" at the end, so an acknowledgement is a whole position at most
 * its own line's; one past it ("a,9" where "a,1" was, "a,1e3", "a,Infinity") or not whole
 * is not taken. It was: acked() went past end(), and every reading appended after it
 * counted as acknowledged, its file freed before a head-end saw it. Found by the store fuzz
 * target (tools/fuzz/stored.ts).
 */
import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { readingStore } from "../../../firmware/concentrator/store";

const line = (k: number) => `1001,1-0:1.8.0,${k},30,0,${1790000000 + k},0`;

describe("the readings store over a damaged acknowledgement line", () => {
  for (const bad of ["a,9", "a,4", "a,1e3", "a,Infinity", "a,0.5"]) {
    it(`"${bad}" in place of "a,1": not taken, no unacknowledged reading freed`, () => {
      const st = new MockStorage();
      const s = readingStore(st, 2, 3, () => {});
      for (let k = 0; k < 3; k++) s.append(line(k));
      expect(s.ack(1)).toBe(0); // its line at position 3, in file 1
      st.files.set("ml.r1", st.files.get("ml.r1")!.replace("a,1;", `${bad};`));
      const freed: string[] = [];
      const again = readingStore(st, 2, 3, (l) => freed.push(l));
      expect(again.acked()).toBe(0);
      // readings up to the bound, and one refused: nothing freed, everything kept
      for (let k = 3; k < 5; k++) again.append(line(k));
      expect(() => again.append(line(5))).toThrow();
      expect(freed).toEqual([]);
      const kept: number[] = [];
      again.since(0, 1e6, (_l, p) => kept.push(p));
      expect(kept).toEqual([0, 1, 2, 4, 5]);
    });
  }
});
