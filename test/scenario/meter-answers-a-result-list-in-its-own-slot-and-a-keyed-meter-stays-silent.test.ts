/*
 * RESULT_LIST (the coded campaign's read-back of many meters in one broadcast), against the
 * meter's own program on the simulated line: a meter named in it answers once, in the slot
 * its position gives, with what its update state calls for (ERROR with the list's seq
 * without a session, DEFICIT while downloading, DOWNLOAD_COMPLETE when verified); a meter
 * not named, and a keyed meter (the list is not among the broadcasts a keyed meter takes),
 * stay silent.
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor } from "../../bench/rig";
import { CONC, controlBody, makeImage, msg, post, drain, request, blockMsg } from "../harness/scripted-concentrator";
import { decodeMsg, newMsg } from "../../firmware/protocol/codec";
import { T } from "../../firmware/protocol/catalogue";
import { typed } from "../../tools/protocol/typed";
import { Err } from "../../firmware/common/errors";

const BROADCAST = 0xffffffff;
const LEAD = 300, SLOT = 80;

function setup() {
  const rig = new LinkRig("st7580", lineFor("st7580", 52, { log: true }));
  const conc = rig.add("conc", CONC);
  for (const id of [8001, 8002, 8003]) bootMeter(rig, `m${id}`, id, { version: 1 });
  bootMeter(rig, "m8004", 8004, { version: 1, key: "00112233445566778899aabbccddeeff" });
  rig.start();
  rig.clock.advance(3000);
  return { rig, conc };
}

/** Sends a RESULT_LIST naming `ids` and returns, for 3 s after it, each meter's frames: when (ms after the list left) and what. */
function list(s: ReturnType<typeof setup>, imageId: number, ids: number[]) {
  const m = msg(T.RESULT_LIST, { imageId, lead: LEAD, slotMs: SLOT, ids: ids.map((id) => ({ id })) }, BROADCAST, 2);
  const n = s.rig.line.log.length;
  post(s.rig, s.conc, m);
  s.rig.clock.advance(3000);
  const log = s.rig.line.log.slice(n);
  const sent = log.find((f) => f.from === "conc" && f.bytes[1] === T.RESULT_LIST)!;
  const answers = log.filter((f) => f.from !== "conc").map((f) => {
    const r = newMsg();
    decodeMsg(f.bytes, f.bytes.length, r);
    // the body typed by its message type (tools/protocol/bodies.ts): the tests compare its fields
    return { from: f.from, after: f.at - sent.at, type: r.type, body: typed(r).body as Record<string, unknown> };
  });
  return { seq: m.seq, answers };
}

describe("a RESULT_LIST on the line", () => {
  it("gets one answer from each unkeyed meter named, in its own slot, and none from the others", () => {
    const s = setup();
    // 8002 at position 0, 8003 at 1, 8004 (keyed) at 2; 8001 is not named
    const r = list(s, 40, [8002, 8003, 8004]);
    expect(r.answers.map((a) => a.from).sort()).toEqual(["m8002", "m8003"]);
    for (const [pos, name] of [[0, "m8002"], [1, "m8003"]] as const) {
      const a = r.answers.find((x) => x.from === name)!;
      // no session for image 40: an ERROR bound to the list
      expect(a.type).toBe(T.ERROR);
      expect(a.body).toMatchObject({ refType: T.RESULT_LIST, refSeq: r.seq, code: Err.UPDATE_NO_SESSION });
      // in its slot: not before lead + position x slot, and before the next slot starts (the list's own airtime and the modems' links aside)
      expect(a.after).toBeGreaterThanOrEqual(LEAD + pos * SLOT);
      expect(a.after).toBeLessThan(LEAD + (pos + 1) * SLOT + 50);
    }
    // the two answers do not share a slot
    const [a, b] = r.answers.map((x) => x.after).sort((x, y) => x - y);
    expect(b - a).toBeGreaterThanOrEqual(SLOT - 5);
  });

  it("answers DEFICIT while downloading and DOWNLOAD_COMPLETE once verified, never a long STATUS_REPORT", () => {
    const s = setup();
    const img = makeImage(2000, 200, { imageId: 41, version: 2 });
    expect(request(s.rig, s.conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 8002))?.type).toBe(T.ACK);
    for (let i = 0; i < 4; i++) post(s.rig, s.conc, blockMsg(img, i, BROADCAST, 2));
    drain(s.rig, s.conc);
    let r = list(s, 41, [8002]);
    expect(r.answers.map((a) => [a.from, a.type])).toEqual([["m8002", T.DEFICIT]]);
    expect(r.answers[0].body).toMatchObject({ imageId: 41, received: 4, needed: img.session.blockCount - 4 });
    for (let i = 4; i < img.session.blockCount; i++) post(s.rig, s.conc, blockMsg(img, i, BROADCAST, 2));
    drain(s.rig, s.conc);
    r = list(s, 41, [8001, 8002]);
    expect(r.answers.map((a) => [a.from, a.type])).toEqual([["m8001", T.ERROR], ["m8002", T.DOWNLOAD_COMPLETE]]);
    expect(r.answers[1].body).toMatchObject({ imageId: 41, version: 2 });
  });
});
