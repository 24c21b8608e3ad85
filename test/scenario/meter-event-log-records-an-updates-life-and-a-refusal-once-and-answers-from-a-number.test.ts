import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor, type MeterNode } from "../../bench/rig";
import { CONC, controlBody, download, makeProgramImage, msg, readEvents, request } from "../harness/scripted-concentrator";
import { install } from "../../firmware/boot/install";
import { hostNative } from "../../hal/mock/native";
import { Ev, T } from "../../firmware/protocol/catalogue";

const T0 = 1700000000;

function restart(rig: LinkRig, m: MeterNode, name: string) {
  m.powerOff();
  const res = install(m.flash, hostNative, m.board.regions);
  const again = bootMeter(rig, name, m.id, { flash: m.flash });
  rig.clock.advance(3000);
  return { res, m: again };
}

/** The meter's events from number `from` on, through READ_REQ and EVENTS on the line. */
function read(rig: LinkRig, conc: ReturnType<LinkRig["add"]>, from: number) {
  const r = readEvents(rig, conc, 5001, from);
  expect(r, "an EVENTS answer").not.toBeNull();
  return r!;
}

describe("a meter's event log over the line", () => {
  it("records the download, the verified image, the activation, the start on trial and the confirmation, and a refused control once", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 21, { defaults: { loss: 0 } }));
    const conc = rig.add("conc", CONC);
    const m = bootMeter(rig, "m1", 5001, { version: 1 });
    rig.start();
    expect(request(rig, conc, msg(T.TIME_SET, { time: T0 }, 5001))?.type).toBe(T.ACK);
    // a control too large for the buffer, twice: one refusal in the log
    const big = makeProgramImage(2, 200000, 192, { imageId: 40 });
    for (let k = 0; k < 2; k++) expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(big.session), 5001))?.body.code).toBe(83);
    const img = makeProgramImage(2, 5000, 192, { imageId: 33 });
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 5001))?.type).toBe(T.ACK);
    // the same control again (a lost ACK): no second download event
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 5001))?.type).toBe(T.ACK);
    expect(download(rig, conc, [5001], img).complete).toEqual([5001]);
    expect(request(rig, conc, msg(T.ACTIVATE, { imageId: 33, at: 0 }, 5001))?.type).toBe(T.ACK);
    const before = read(rig, conc, 1);
    expect(before.events.map((e) => [e.code, e.data])).toEqual([
      [Ev.POWER_UP, 0],
      [Ev.REGISTER_RESET, 1],
      [Ev.FW_REFUSED, 83 * 65536 + 40],
      [Ev.FW_DOWNLOAD, 2],
      [Ev.FW_READY, 2],
      [Ev.FW_ACTIVATED, 2],
    ]);
    // the start is before the clock was set (its time counted back from it); the rest after
    expect(before.events[0].time).toBeLessThanOrEqual(T0);
    expect(before.events[0].time).toBeGreaterThan(T0 - 60);
    for (const e of before.events.slice(2)) expect(e.time).toBeGreaterThanOrEqual(T0);
    rig.clock.advance(5000);
    expect(m.system.resets).toBe(1);
    const r = restart(rig, m, "m2");
    expect(r.res).toMatchObject({ copied: true, code: 0, trial: true });
    // the new program's first exchange confirms it; its start's events wait for the clock
    expect(request(rig, conc, msg(T.TIME_SET, { time: T0 + 900 }, 5001))?.type).toBe(T.ACK);
    rig.clock.advance(1000);
    const after = read(rig, conc, before.last + 1);
    expect(after.first).toBe(1);
    expect(after.events.map((e) => e.code)).toEqual([Ev.POWER_DOWN, Ev.POWER_UP, Ev.FW_STARTED, Ev.FW_CONFIRMED]);
    expect(after.events.map((e) => e.n)).toEqual([7, 8, 9, 10]);
    expect(after.events[2].data).toBe(2);
    expect(after.last).toBe(10);
    // asked from beyond the newest: nothing, and the numbers tell the concentrator so
    expect(read(rig, conc, 11)).toMatchObject({ first: 1, last: 10, events: [] });
  });

  it("records a revert once, though the boot journal tells it at every start", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 21, { defaults: { loss: 0 } }));
    const conc = rig.add("conc", CONC);
    let m = bootMeter(rig, "m1", 5001, { version: 1 });
    rig.start();
    const img = makeProgramImage(2, 5000, 192, { imageId: 33 });
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 5001))?.type).toBe(T.ACK);
    expect(download(rig, conc, [5001], img).complete).toEqual([5001]);
    expect(request(rig, conc, msg(T.ACTIVATE, { imageId: 33, at: 0 }, 5001))?.type).toBe(T.ACK);
    rig.clock.advance(5000);
    m = restart(rig, m, "m2").m;
    // three starts on trial that never hear the concentrator: reverted
    for (let s = 3; s <= 5; s++) {
      rig.clock.advance(30 * 60 * 1000 + 5000);
      m = restart(rig, m, `m${s}`).m;
    }
    m = restart(rig, m, "m6").m;
    expect(request(rig, conc, msg(T.TIME_SET, { time: T0 }, 5001))?.type).toBe(T.ACK);
    const codes = read(rig, conc, 1).events.map((e) => e.code);
    expect(codes.filter((c) => c === Ev.FW_REVERTED)).toHaveLength(0 + 1);
    // the starts that never had their clock set lost their own events; the last one holds the revert
    expect(codes.slice(-3)).toEqual([Ev.POWER_DOWN, Ev.POWER_UP, Ev.FW_REVERTED]);
    m = restart(rig, m, "m7").m;
    expect(request(rig, conc, msg(T.TIME_SET, { time: T0 + 60 }, 5001))?.type).toBe(T.ACK);
    const again = read(rig, conc, 1).events.map((e) => e.code);
    expect(again.filter((c) => c === Ev.FW_REVERTED)).toHaveLength(1);
    expect(again.slice(-2)).toEqual([Ev.POWER_DOWN, Ev.POWER_UP]);
  });
});
