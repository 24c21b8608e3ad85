import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { PowerLine } from "../../../hal/mock/powerline";
import { MAX_ACTIVATIONS } from "../../../firmware/concentrator/campaign";
import { P, T } from "../../../firmware/protocol/catalogue";
import { campaignNode } from "../../../bench/campaign-sim";
import { modelMeter } from "../../../bench/model-meter";
import { blockOf, imageOf } from "../../../bench/image";

describe("activation of a meter that misses every ACTIVATE broadcast", () => {
  it("is sent an ACTIVATE of its own, and the campaign ends with every meter activated", () => {
    const clock = new VirtualClock();
    const line = new PowerLine(clock, { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, seed: 3, log: true });
    const ids = [11, 12, 13];
    const meters = ids.map((id) => modelMeter(line, clock, id));
    // meter 12 never hears a broadcast ACTIVATE (and hears everything else)
    const deaf = line.node("m12") as unknown as { receive: (b: Uint8Array, s: number, c: boolean) => void };
    const hear = deaf.receive;
    let dropped = 0;
    deaf.receive = (b, s, c) => { if (b[1] === T.ACTIVATE && b[9] === P.TO_ALL) { dropped++; return; } hear(b, s, c); };
    const conc = campaignNode(line, clock);
    const img = imageOf(new Uint8Array(1000).fill(7), { imageId: 5, version: 2, board: 1, blockSize: 200 });
    let code = -1;
    const camp = conc.start({
      session: img.session, block: (i) => blockOf(img, i), meters: ids, deadlineMs: 0, maxRounds: 5, noProgressRounds: 3,
      maxNoAnswer: 3, answerMs: 500, rebootMs: 1000, activateAt: 0,
    }, (c) => { code = c; });
    clock.runUntilIdle(600_000);
    expect(code).toBe(0);
    expect(dropped).toBe(MAX_ACTIVATIONS);
    expect(ids.map((_, i) => camp.state(i))).toEqual([6, 6, 6]);
    expect(meters.map((m) => m.state())).toEqual([6, 6, 6]);
    // exactly one addressed ACTIVATE, to meter 12
    const addressed = line.log.filter((f) => f.bytes[1] === T.ACTIVATE && f.bytes[9] === P.TO_METER);
    expect(addressed.map((f) => f.bytes[10])).toEqual([12]);
  });
});
