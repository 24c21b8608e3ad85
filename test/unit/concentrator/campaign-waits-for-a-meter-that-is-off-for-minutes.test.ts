import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { PowerLine } from "../../../hal/mock/powerline";
import { campaignNode } from "../../../bench/campaign-sim";
import { modelMeter } from "../../../bench/model-meter";
import { blockOf, imageOf } from "../../../bench/image";

/** Three meters; meter 22 hears nothing from 1.5 s (during the broadcast) to 1.5 s + offMs (its power is off). */
function run(offMs: number, silentMs: number) {
  const clock = new VirtualClock();
  const line = new PowerLine(clock, { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, seed: 5, log: true });
  const ids = [21, 22, 23];
  ids.forEach((id) => modelMeter(line, clock, id));
  const off = line.node("m22") as unknown as { receive: (b: Uint8Array, s: number, c: boolean) => void };
  const hear = off.receive;
  off.receive = (b, s, c) => { if (clock.now() < 1500 || clock.now() > 1500 + offMs) hear(b, s, c); };
  const conc = campaignNode(line, clock);
  const img = imageOf(new Uint8Array(2000).fill(3), { imageId: 9, version: 2, board: 1, blockSize: 200 });
  let code = -1;
  const camp = conc.start({
    session: img.session, block: (i) => blockOf(img, i), meters: ids, deadlineMs: 0, maxRounds: 30, noProgressRounds: 3,
    maxNoAnswer: 4, silentMs, answerMs: 1000, rebootMs: 1000, activateAt: 0,
  }, (c) => { code = c; });
  clock.runUntilIdle(3_600_000);
  const polls22 = line.log.filter((f) => f.bytes[1] === 0x43 && f.bytes[10] === 22 && f.at > 1500 && f.at < 1500 + offMs).length;
  return { code, states: ids.map((_, i) => camp.state(i)), codes: ids.map((_, i) => camp.codeOf(i)), polls22, end: clock.now() };
}

describe("a meter that is off during the campaign", () => {
  it("is waited for within the silence window, asked ever less often, and finishes with the others", () => {
    const r = run(180_000, 600_000);
    expect(r.code).toBe(0);
    expect(r.states).toEqual([6, 6, 6]);
    // three minutes of silence: passes back off (1, 2, 4, 8, 16, 32, 60 s), not one query per second
    expect(r.polls22).toBeGreaterThan(3);
    expect(r.polls22).toBeLessThan(15);
  });

  it("fails, with code 94, once it has missed the limit and the silence window has passed", () => {
    const r = run(3_600_000, 120_000);
    expect(r.code).toBe(0);
    expect(r.states).toEqual([6, 8, 6]);
    expect(r.codes[1]).toBe(94);
  });

  it("without a silence window, four misses are enough to fail it (the count alone)", () => {
    const r = run(180_000, 0);
    expect(r.states[1]).toBe(8);
    expect(r.codes[1]).toBe(94);
  });
});
