import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor } from "../../bench/rig";
import { CONC, blockMsg, controlBody, drain, makeImage, msg, post, request } from "../harness/scripted-concentrator";
import { T } from "../../firmware/protocol/catalogue";

const E = { UPDATE_WRONG_BOARD: 80, UPDATE_BAD_BLOCK_SIZE: 81, UPDATE_BAD_SIZE: 82, UPDATE_TOO_LARGE: 83, UPDATE_NOT_NEWER: 84, UPDATE_NO_SESSION: 85, UPDATE_NOT_VERIFIED: 86, UPDATE_BAD_IMAGE_ID: 88, UPDATE_NOT_SELECTED: 89 };

function setup() {
  const rig = new LinkRig("st7580", lineFor("st7580", 8));
  const conc = rig.add("conc", CONC);
  const m = bootMeter(rig, "m", 3001, { version: 5, groups: [40] });
  rig.start();
  return { rig, conc, m };
}

describe("a meter refusing an update", () => {
  const img = makeImage(2000, 200, { version: 6 });
  const cases: [string, Record<string, unknown>, number][] = [
    ["an image for another board", { board: 3 }, E.UPDATE_WRONG_BOARD],
    ["a block size that is not whole words", { blockSize: 198, blockCount: Math.ceil(2000 / 198) }, E.UPDATE_BAD_BLOCK_SIZE],
    ["a block size over the frame limit", { blockSize: 216, blockCount: Math.ceil(2000 / 216) }, E.UPDATE_BAD_BLOCK_SIZE],
    ["a block count that does not match the size", { blockCount: 11 }, E.UPDATE_BAD_SIZE],
    ["an empty image", { size: 0, blockCount: 0 }, E.UPDATE_BAD_SIZE],
    ["an image larger than the buffer", { size: 60000, blockCount: 300 }, E.UPDATE_TOO_LARGE],
    ["a version not newer than the installed one", { version: 5 }, E.UPDATE_NOT_NEWER],
    ["image id 0", { imageId: 0 }, E.UPDATE_BAD_IMAGE_ID],
  ];
  for (const [what, change, code] of cases) {
    it(`refuses ${what} with code ${code}, stores nothing, and says so when asked`, () => {
      const { rig, conc, m } = setup();
      const ops = m.flash.ops;
      const body = { ...controlBody(img.session), ...change };
      const r = request(rig, conc, msg(T.UPDATE_CONTROL, body, 3001));
      expect(r?.type).toBe(T.ERROR);
      expect(r?.body.code).toBe(code);
      expect(m.flash.ops).toBe(ops);
      expect(m.meter.receiver.state()).toBe(0);
      const q = request(rig, conc, msg(T.STATUS_QUERY, { imageId: body.imageId }, 3001));
      expect(q?.type).toBe(T.ERROR);
      expect(q?.body.code).toBe(code);
    });
  }

  it("acts on a broadcast control only after a select, and on a group control directly", () => {
    const { rig, conc, m } = setup();
    post(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 0xffffffff, 2));
    drain(rig, conc);
    expect(m.meter.receiver.state()).toBe(0);
    expect(request(rig, conc, msg(T.UPDATE_SELECT, { imageId: img.session.imageId, op: 1 }, 3001))?.type).toBe(T.ACK);
    post(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 0xffffffff, 2));
    drain(rig, conc);
    expect(m.meter.receiver.state()).toBe(1);
    // a group control for another image, to a group the meter is in, replaces the session
    const other = makeImage(1000, 200, { imageId: 9, version: 7 });
    post(rig, conc, msg(T.UPDATE_CONTROL, controlBody(other.session), 40, 1));
    drain(rig, conc);
    expect(m.meter.receiver.session()?.imageId).toBe(9);
  });

  it("ignores and counts blocks outside its session, corrupt in size, or already stored", () => {
    const { rig, conc, m } = setup();
    request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 3001));
    const other = makeImage(2000, 200, { imageId: 99 });
    post(rig, conc, blockMsg(other, 0));
    const short = blockMsg(img, 1);
    short.body.data = short.body.data.subarray(0, 100);
    post(rig, conc, short);
    post(rig, conc, blockMsg(img, 2));
    post(rig, conc, blockMsg(img, 2));
    drain(rig, conc);
    expect(m.meter.receiver.stats).toMatchObject({ stored: 1, duplicate: 1, corrupt: 1, outOfSession: 1 });
  });

  it("refuses activation before the digest checked, and an abort clears the session", () => {
    const { rig, conc, m } = setup();
    request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 3001));
    const a = request(rig, conc, msg(T.ACTIVATE, { imageId: img.session.imageId, at: 0 }, 3001));
    expect(a?.body.code).toBe(E.UPDATE_NOT_VERIFIED);
    expect(request(rig, conc, msg(T.ABORT, { imageId: img.session.imageId, reason: 0 }, 3001))?.type).toBe(T.ACK);
    expect(m.meter.receiver.state()).toBe(0);
    const q = request(rig, conc, msg(T.STATUS_QUERY, { imageId: img.session.imageId }, 3001));
    expect(q?.body.code).toBe(E.UPDATE_NO_SESSION);
    expect(m.system.resets).toBe(0);
  });

  it("restarts for the boot routine once activated after a verified download", () => {
    const { rig, conc, m } = setup();
    request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 3001));
    for (let i = 0; i < img.session.blockCount; i++) post(rig, conc, blockMsg(img, i));
    drain(rig, conc);
    expect(m.meter.receiver.state()).toBe(3);
    expect(request(rig, conc, msg(T.ACTIVATE, { imageId: img.session.imageId, at: 0 }, 3001))?.type).toBe(T.ACK);
    rig.clock.advance(5000);
    expect(m.system.resets).toBe(1);
    expect(m.meter.receiver.state()).toBe(5);
  });

  it("detects a wrong digest after the last block and starts the download over", () => {
    const { rig, conc, m } = setup();
    const bad = makeImage(2000, 200, { version: 6 });
    bad.session.digest = bad.session.digest.slice();
    bad.session.digest[0] ^= 1;
    request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(bad.session), 3001));
    for (let i = 0; i < bad.session.blockCount; i++) post(rig, conc, blockMsg(bad, i));
    drain(rig, conc);
    expect(m.meter.receiver.state()).toBe(4);
    expect(m.meter.receiver.received()).toBe(0);
    const q = request(rig, conc, msg(T.STATUS_QUERY, { imageId: bad.session.imageId }, 3001));
    expect(q?.type).toBe(T.STATUS_REPORT);
    expect(q?.body).toMatchObject({ state: 4, received: 0, firstMissing: 0 });
  });
});
