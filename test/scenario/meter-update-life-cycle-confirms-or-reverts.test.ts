import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor, type MeterNode } from "../../bench/rig";
import { CONC, controlBody, download, makeProgramImage, msg, request } from "../harness/scripted-concentrator";
import { install } from "../../firmware/boot/install";
import { hostNative } from "../../hal/mock/native";
import { T } from "../../firmware/protocol/catalogue";


/** The meter restarts: power off, the boot routine runs, the program in the app region starts. */
function restart(rig: LinkRig, m: MeterNode, name: string) {
  m.powerOff();
  const res = install(m.flash, hostNative, m.board.regions);
  const again = bootMeter(rig, name, m.id, { flash: m.flash });
  rig.clock.advance(3000);
  return { res, m: again };
}

function updatedMeter() {
  const rig = new LinkRig("st7580", lineFor("st7580", 21, { defaults: { loss: 0.05 } }));
  const conc = rig.add("conc", CONC);
  const m = bootMeter(rig, "m1", 5001, { version: 1 });
  rig.start();
  const img = makeProgramImage(2, 5000, 192, { imageId: 33 });
  expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 5001))?.type).toBe(T.ACK);
  expect(download(rig, conc, [5001], img).complete).toEqual([5001]);
  expect(request(rig, conc, msg(T.ACTIVATE, { imageId: 33, at: 0 }, 5001))?.type).toBe(T.ACK);
  rig.clock.advance(5000);
  expect(m.system.resets).toBe(1);
  const r = restart(rig, m, "m2");
  expect(r.res).toMatchObject({ copied: true, code: 0, trial: true });
  return { rig, conc, m: r.m };
}

describe("an update's life after activation", () => {
  it("the new program confirms itself after its first good exchange and is kept", () => {
    const { rig, conc, m } = updatedMeter();
    expect(m.meter.onTrial()).toBe(true);
    const v = request(rig, conc, msg(T.VERSION_READ, {}, 5001));
    expect(v?.body).toMatchObject({ version: 2, imageId: 33 });
    rig.clock.advance(1000);
    expect(m.meter.onTrial()).toBe(false);
    const again = restart(rig, m, "m3");
    expect(again.res).toMatchObject({ code: 0, trial: false });
    const r = request(rig, conc, msg(T.STATUS_QUERY, { imageId: 33 }, 5001));
    expect(r?.type).toBe(T.UPDATE_RESULT);
    expect(r?.body).toMatchObject({ imageId: 33, version: 2, outcome: 1, code: 0 });
  });

  it("a new program that never hears from the concentrator restarts at its deadline and is reverted after three starts", () => {
    const { rig, conc, m: first } = updatedMeter();
    let m = first;
    const results = [];
    for (let start = 2; start <= 4; start++) {
      expect(m.meter.onTrial()).toBe(true);
      rig.clock.advance(30 * 60 * 1000 + 5000);
      expect(m.system.resets, `restart at the deadline, start ${start - 1}`).toBe(1);
      const r = restart(rig, m, `m${start + 1}`);
      results.push(r.res);
      m = r.m;
    }
    expect(results.map((r) => r.trial)).toEqual([true, true, false]);
    expect(results[2].code).toBe(105);
    const v = request(rig, conc, msg(T.VERSION_READ, {}, 5001));
    expect(v?.body).toMatchObject({ version: 1, imageId: 0 });
    const r = request(rig, conc, msg(T.STATUS_QUERY, { imageId: 33 }, 5001));
    expect(r?.type).toBe(T.UPDATE_RESULT);
    expect(r?.body).toMatchObject({ imageId: 33, version: 1, outcome: 2, code: 105 });
  });

  it("the concentrator's CONFIRM ends the trial too", () => {
    const { rig, conc, m } = updatedMeter();
    expect(request(rig, conc, msg(T.CONFIRM, { imageId: 34 }, 5001))?.body.code).toBe(85);
    // the ERROR reply itself was a good exchange: the program confirmed itself already
    expect(m.meter.onTrial()).toBe(false);
    expect(request(rig, conc, msg(T.CONFIRM, { imageId: 33 }, 5001))?.type).toBe(T.ACK);
  });
});
