/*
 * The readings store (firmware/concentrator/store.ts) over a damaged file: a file holds
 * segLines lines, and lines after them (a character turned into a newline splits a line in
 * two) are not the store's. They were read at the next file's positions: since() gave
 * positions twice and out of order, and a newest file with a line too many never made
 * way for the next, so the readings appended after it took positions past its range that
 * since() never gave (a head-end asking from its next position skipped them for good).
 * Found by the store fuzz target (tools/fuzz/stored.ts).
 */
import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { readingStore } from "../../../firmware/concentrator/store";

const line = (k: number) => `1001,1-0:1.8.0,${k},30,0,${1790000000 + k},0`;
const all = (s: ReturnType<typeof readingStore>, from = 0) => { const out: [number, string][] = []; s.since(from, 1e6, (l, p) => out.push([p, l])); return out; };

describe("the readings store over a file with a line too many", () => {
  it("reads segLines lines a file, in order, and gives every reading appended after it", () => {
    const st = new MockStorage();
    const s = readingStore(st, 2, 4, () => {});
    for (let k = 0; k < 4; k++) s.append(line(k));
    // the newest file's first line split in two: three lines in a file of two
    st.files.set("ml.r1", st.files.get("ml.r1")!.replace(",2,", ",2\n,"));
    const again = readingStore(st, 2, 4, () => {});
    const kept = all(again);
    expect(kept.map(([p]) => p)).toEqual([0, 1, 3]);
    expect(again.end()).toBe(4);
    // the next readings go to the next file, and since() from the end gives them
    again.append(line(4));
    again.append(line(5));
    expect(all(again, 4)).toEqual([[4, line(4)], [5, line(5)]]);
    expect(all(readingStore(st, 2, 4, () => {}), 4)).toEqual([[4, line(4)], [5, line(5)]]);
  });
});
