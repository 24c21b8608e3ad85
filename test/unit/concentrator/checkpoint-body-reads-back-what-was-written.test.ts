/*
 * The campaign checkpoint's body has one layout, written by writeCheckpoint and read by
 * readCheckpoint (campaign restore, the concentrator's unfinished(), checkpointInfo): what is
 * written reads back field for field, and a short or damaged body reads as nothing.
 */
import { describe, expect, it } from "vitest";
import { checkpointInfo, checkpointSize, readCheckpoint, writeCheckpoint } from "../../../firmware/concentrator/campaign";
import { makeImage } from "../../harness/scripted-concentrator";

describe("the checkpoint body", () => {
  it("reads back every field written, for 0, 1 and 300 meters", () => {
    for (const n of [0, 1, 300]) {
      const s = makeImage(5000, 200, { imageId: 77, version: 9 }).session;
      const meters = Array.from({ length: n }, (_, i) => 0xfffffffe - i * 7919);
      const states = Uint8Array.from({ length: n }, (_, i) => [0, 1, 3, 6, 8, 9][i % 6]);
      const quiet = Uint8Array.from({ length: n }, (_, i) => i % 5);
      const codes = Uint16Array.from({ length: n }, (_, i) => (i * 97) % 65536);
      const ck = new Uint8Array(checkpointSize(n));
      expect(ck.length % 4).toBe(0);
      writeCheckpoint(ck, s, 4, 2, true, 513, 94, meters, states, quiet, codes);
      const c = readCheckpoint(ck)!;
      expect([c.phase, c.activations, c.coded, c.round, c.result]).toEqual([4, 2, true, 513, 94]);
      expect(c.session).toEqual(s);
      expect(c.meters).toEqual(meters);
      expect([...c.states]).toEqual([...states]);
      expect([...c.quiet]).toEqual([...quiet]);
      expect(c.codes).toEqual([...codes]);
      expect(checkpointInfo(ck)).toEqual({ session: s, meters, coded: true });
      // cut short anywhere before its last meter: nothing
      if (n) expect(readCheckpoint(ck.subarray(0, ck.length - 8 - 3))).toBeNull();
    }
    expect(readCheckpoint(new Uint8Array(10))).toBeNull();
  });
});
