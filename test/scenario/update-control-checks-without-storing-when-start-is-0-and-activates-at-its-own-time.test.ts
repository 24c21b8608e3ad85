import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { CONC, controlBody, download, makeProgramImage, msg, readEvents, request } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative, latin1 } from "../../hal/mock/native";
import { Ev, T } from "../../firmware/protocol/catalogue";
import { Err } from "../../firmware/common/errors";

/*
 * The patent's claim 4: the update control itself carries the update time and the start
 * command. start = 1 opens the download; start = 0 asks the meter only whether it would take
 * the image (it answers ACK or its refusal's code) and changes nothing it stores: no session,
 * no buffer unit erased, no "download started" event. The update time in the control is the
 * one the meter activates at when no ACTIVATE comes.
 */
const T0 = 1_790_000_000;

/** One meter (version 1) and a scripted concentrator on a line without loss, the meter's clock set to T0. */
function oneMeter(seed: number, id: number) {
  const rig = new LinkRig("st7580", lineFor("st7580", seed, { defaults: { loss: 0 } }));
  const conc = rig.add("conc", CONC);
  const m = bootMeter(rig, "m1", id, { version: 1 });
  rig.start();
  expect(request(rig, conc, msg(T.TIME_SET, { time: T0 }, id))?.type).toBe(T.ACK);
  return { rig, conc, m };
}

/** The meter's events (code, data) from the first on. */
function events(rig: LinkRig, conc: ReturnType<LinkRig["add"]>, id: number): [number, number][] {
  const r = readEvents(rig, conc, id, 1);
  expect(r, "an EVENTS answer").not.toBeNull();
  return r!.events.map((e) => [e.code, e.data]);
}

describe("the update control's start command and update time", () => {
  it("start = 0: ACK for an image the meter would take, its refusal's code for one it would not, and nothing stored either way", () => {
    const { rig, conc, m } = oneMeter(31, 7001);
    const buffer = m.board.regions.buffer!;
    const bufferBefore = m.flash.read(buffer.addr, buffer.size).slice();
    const evBefore = events(rig, conc, 7001);

    const img = makeProgramImage(2, 5000, 192, { imageId: 61 });
    const checked = request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session, 0), 7001));
    expect(checked?.type).toBe(T.ACK);
    // an image the meter would not take: the same answer a real start gets
    const old = makeProgramImage(1, 5000, 192, { imageId: 62 });
    const refused = request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(old.session, 0), 7001));
    expect(refused?.type).toBe(T.ERROR);
    expect(refused?.body.code).toBe(Err.UPDATE_NOT_NEWER);

    // nothing opened, nothing erased or written in the buffer, no download event
    expect(m.meter.receiver.session()).toBeNull();
    expect(m.meter.receiver.received()).toBe(0);
    expect(m.flash.read(buffer.addr, buffer.size)).toEqual(bufferBefore);
    const evAfter = events(rig, conc, 7001);
    expect(evAfter.slice(0, evBefore.length)).toEqual(evBefore);
    expect(evAfter.filter(([c]) => c === Ev.FW_DOWNLOAD)).toEqual([]);
    // (the refusal is logged as any refusal is: once)
    expect(evAfter.slice(evBefore.length)).toEqual([[Ev.FW_REFUSED, Err.UPDATE_NOT_NEWER * 65536 + 62]]);

    // then start = 1: the download opens, and its event is written once
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session, 1), 7001))?.type).toBe(T.ACK);
    expect(m.meter.receiver.session()?.imageId).toBe(61);
    expect(events(rig, conc, 7001).filter(([c]) => c === Ev.FW_DOWNLOAD)).toEqual([[Ev.FW_DOWNLOAD, 2]]);
  });

  it("a control carrying an update time: the meter activates by itself at that time, with no ACTIVATE sent", () => {
    const { rig, conc, m } = oneMeter(32, 7002);
    const img = makeProgramImage(2, 5000, 192, { imageId: 63 });
    img.session.activateAt = T0 + 600;
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session, 1), 7002))?.type).toBe(T.ACK);
    expect(m.meter.receiver.session()?.activateAt).toBe(T0 + 600);
    expect(download(rig, conc, [7002], img).complete).toEqual([7002]);
    // verified, and waiting for its time: no restart before it
    while (m.meter.metering.wallTime() < T0 + 590) rig.clock.advance(5000);
    expect(m.system.resets).toBe(0);
    while (m.meter.metering.wallTime() < T0 + 640) rig.clock.advance(5000);
    expect(m.system.resets).toBe(1);
  });

  it("a check-only campaign from the console (method coded or patent: either sends addressed controls only): meters that would take the image end checked, one that would not fails with its code, none stores anything", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 33, { defaults: { loss: 0.05 } }));
    const ids = [7101, 7102, 7103];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: id === 7103 ? 5 : 1, autoRestart: true });
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    const out: string[] = [];
    const img = makeProgramImage(2, 2000, 200, { imageId: 64 });
    const ml = consoleApi(conc.ctx, hostNative, 1, () => latin1(img.bytes), (l) => out.push(l));
    const buffers = ids.map((id) => { const n = rig.meters.get(id)!; const b = n.board.regions.buffer!; return n.flash.read(b.addr, b.size).slice(); });
    for (const method of ["coded", "patent"] as const) {
      out.length = 0;
      expect(ml.update("img.bin", { imageId: 64, version: 2, checkOnly: true, method })).toBe(0);
      const end = rig.clock.now() + 600_000;
      while (!out.some((l) => l.startsWith("meterline: campaign 64 ended")) && rig.clock.now() < end) rig.clock.advance(100);
      const c = conc.ctx.campaign()!;
      // CHECKED = 2, FAILED = 8 (campaign.ts Ms)
      expect(ids.map((_, i) => c.state(i)), method).toEqual([2, 2, 8]);
      expect(c.codeOf(2)).toBe(Err.UPDATE_NOT_NEWER);
      // no block went out: only controls (and their retries)
      expect(c.totals.blocks, method).toBe(0);
      ids.forEach((id, i) => {
        const n = rig.meters.get(id)!, b = n.board.regions.buffer!;
        expect(n.meter.receiver.session(), `${method} ${id}`).toBeNull();
        expect(n.flash.read(b.addr, b.size), `${method} ${id}'s buffer`).toEqual(buffers[i]);
      });
    }
  }, 120_000);
});
