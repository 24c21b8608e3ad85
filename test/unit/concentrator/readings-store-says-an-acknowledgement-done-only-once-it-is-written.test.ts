/*
 * The readings store (firmware/concentrator/store.ts): an acknowledgement it refused for
 * want of room (STORE_FULL: its line could not be written) is not kept in memory only, so
 * the same acknowledgement asked again is not said done (0) while nothing holds it: a
 * restart would find the older one. Found by the store fuzz target (tools/fuzz/stored.ts).
 */
import { describe, expect, it } from "vitest";
import { MockStorage } from "../../../hal/mock/storage";
import { readingStore } from "../../../firmware/concentrator/store";
import { Err } from "../../../firmware/common/errors";

describe("the readings store's acknowledgement", () => {
  it("refused for want of room, then asked again: refused again, not said done unwritten", () => {
    const st = new MockStorage();
    // two files of two lines, both full of unacknowledged readings: no room for the ack line
    const s = readingStore(st, 2, 2, () => {});
    for (let k = 0; k < 4; k++) s.append(`1001,1-0:1.8.0,${k},30,0,${1790000000 + k},0`);
    expect(s.ack(1)).toBe(Err.STORE_FULL);
    expect(s.acked()).toBe(0);
    expect(s.ack(1)).toBe(Err.STORE_FULL);
    expect(readingStore(st, 2, 2, () => {}).acked()).toBe(0);
    // once the ack frees a file, its line is written, said done and kept
    expect(s.ack(2)).toBe(0);
    expect(s.acked()).toBe(2);
    expect(readingStore(st, 2, 2, () => {}).acked()).toBe(2);
  });
});
