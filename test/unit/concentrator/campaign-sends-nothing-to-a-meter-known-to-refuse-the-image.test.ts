/*
 * A campaign's `refuse` (the console sets it for a packed image, from what each meter's
 * IDENTITY said of its boot routine): a meter with a code fails with that code before the
 * control, is sent nothing addressed and is in no selection list, and the others are updated,
 * in both methods; a campaign by group sends it no group-addressed control either (it selects
 * its meters by address or by list instead).
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { PowerLine } from "../../../hal/mock/powerline";
import { Ms } from "../../../firmware/concentrator/campaign";
import { Err } from "../../../firmware/common/errors";
import { P, T } from "../../../firmware/protocol/catalogue";
import { campaignNode } from "../../../bench/campaign-sim";
import { modelMeter } from "../../../bench/model-meter";
import { blockOf, imageOf } from "../../../bench/image";
import { getU32 } from "../../../firmware/common/bytes";

describe("a meter the campaign is told will refuse the image", () => {
  for (const coded of [false, true]) for (const group of [0, 77]) {
    it(`fails with the code it was given and is sent nothing, the others are updated (${coded ? "coded" : "patent"} method${group ? ", a campaign by group" : ""})`, () => {
      const clock = new VirtualClock();
      const line = new PowerLine(clock, { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, seed: 5, log: true });
      const ids = [21, 22, 23];
      const meters = ids.map((id) => modelMeter(line, clock, id, undefined, id, group));
      const conc = campaignNode(line, clock);
      const img = imageOf(new Uint8Array(1000).fill(9), { imageId: 6, version: 2, board: 1, blockSize: 200 });
      const asked: number[] = [];
      let code = -1;
      const camp = conc.start({
        session: img.session, block: (i) => blockOf(img, i), meters: ids, deadlineMs: 0, maxRounds: 5, noProgressRounds: 3,
        maxNoAnswer: 3, answerMs: 500, rebootMs: 1000, activateAt: 0, coded, group: group || undefined,
        refuse: (id) => { asked.push(id); return id === 22 ? Err.BOOT_NO_UNPACK : 0; },
      }, (c) => { code = c; });
      clock.runUntilIdle(600_000);
      expect(code).toBe(0);
      expect(asked).toEqual(ids);
      expect(ids.map((_, i) => camp.state(i))).toEqual([Ms.ACTIVATED, Ms.FAILED, Ms.ACTIVATED]);
      expect(camp.codeOf(1)).toBe(Err.BOOT_NO_UNPACK);
      // meter 22 took no control and holds nothing of the image; the others run it
      expect(meters.map((m) => m.state())).toEqual([6, 0, 6]);
      // nothing addressed to 22, and no selection list names it
      const to22 = line.log.filter((f) => f.bytes[9] === P.TO_METER && getU32(f.bytes, 10) === 22);
      expect(to22).toEqual([]);
      // and no control to a group it is in
      expect(line.log.filter((f) => f.bytes[1] === T.UPDATE_CONTROL && f.bytes[9] === P.TO_GROUP)).toEqual([]);
      const lists = line.log.filter((f) => f.bytes[1] === T.SELECT_LIST);
      if (coded) expect(lists.length).toBeGreaterThan(0);
      for (const f of lists) {
        const n = f.bytes[16];
        const listed = Array.from({ length: n }, (_, k) => getU32(f.bytes, 17 + 4 * k));
        expect(listed).toEqual([21, 23]);
      }
    });
  }

  for (const coded of [false, true]) {
    it(`stays failed and is sent nothing when the campaign is resumed from its checkpoint (${coded ? "coded" : "patent"} method)`, () => {
      const clock = new VirtualClock();
      const line = new PowerLine(clock, { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, seed: 6, log: true });
      const ids = [21, 22, 23];
      const meters = ids.map((id) => modelMeter(line, clock, id));
      const conc = campaignNode(line, clock);
      const img = imageOf(new Uint8Array(3000).fill(5), { imageId: 7, version: 2, board: 1, blockSize: 200 });
      let saved: Uint8Array | null = null;
      const base = {
        session: img.session, block: (i: number) => blockOf(img, i), meters: ids, deadlineMs: 0, maxRounds: 5, noProgressRounds: 3,
        maxNoAnswer: 3, answerMs: 500, rebootMs: 1000, activateAt: 0, coded, checkpoint: { save: (b: Uint8Array) => { saved = b.slice(); return 0; } },
      };
      const first = conc.start({ ...base, refuse: (id) => (id === 22 ? Err.BOOT_NO_UNPACK : 0) }, () => undefined);
      // the concentrator "restarts" once a checkpoint is written after the broadcast began
      for (let t = 0; t < 120_000 && !(saved !== null && first.phase() >= 2); t += 100) clock.advance(100);
      expect(saved).not.toBeNull();
      first.pause();
      const from = line.log.length;
      // resumed as the console resumes it: no refuse, no group, the checkpoint's states
      let code = -1;
      const again = conc.start({ ...base }, (c) => { code = c; }, saved!);
      clock.runUntilIdle(600_000);
      expect(code).toBe(0);
      expect(ids.map((_, i) => again.state(i))).toEqual([Ms.ACTIVATED, Ms.FAILED, Ms.ACTIVATED]);
      expect(again.codeOf(1)).toBe(Err.BOOT_NO_UNPACK);
      expect(meters.map((m) => m.state())).toEqual([6, 0, 6]);
      expect(line.log.slice(from).filter((f) => f.bytes[9] === P.TO_METER && getU32(f.bytes, 10) === 22)).toEqual([]);
    });
  }
});
