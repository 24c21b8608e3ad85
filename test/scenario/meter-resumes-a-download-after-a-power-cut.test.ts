import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor, type MeterNode } from "../../bench/rig";
import { CONC, blockMsg, controlBody, download, drain, makeImage, msg, post, request } from "../harness/scripted-concentrator";
import { CUT_MODES, PowerCut } from "../../hal/mock/flash";
import type { MissingReport } from "../../firmware/protocol/missing";
import { forEachMissing } from "../../firmware/protocol/missing";
import { T } from "../../firmware/protocol/catalogue";


function stored(m: MeterNode, count: number): Set<number> {
  const r = { received: 0, firstMissing: 0, form: 0, base: 0, covers: 0, map: new Uint8Array(0) } as MissingReport;
  m.meter.receiver.report(r);
  const missing = new Set<number>();
  if (r.form !== 0) forEachMissing(r, count, (b) => missing.add(b));
  const s = new Set<number>();
  // a report speaks for [base, base + covers): blocks after the window are unknown, so count only inside it
  for (let i = 0; i < count; i++) if (i < r.base || (i < r.base + r.covers && !missing.has(i))) s.add(i);
  return s;
}

describe("a power cut in the middle of a download", () => {
  for (const mode of CUT_MODES) {
    it(`resumes without fetching again what was stored (cut ${mode} a flash write)`, () => {
      const rig = new LinkRig("st7580", lineFor("st7580", 3));
      const conc = rig.add("conc", CONC);
      let m = bootMeter(rig, "m", 2001);
      rig.start();
      const img = makeImage(9000, 192); // 47 blocks, 5 per 1 KiB unit
      expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 2001))?.type).toBe(T.ACK);
      // the power goes during the 41st flash operation of the download (a block or its mark;
      // the erase modes complete a write, then cut, as "after" does)
      m.flash.planCut({ op: m.flash.ops + 41, mode, fraction: 0.5, seed: 41 });
      let cut = false;
      try {
        for (let i = 0; i < img.session.blockCount; i++) post(rig, conc, blockMsg(img, i));
        drain(rig, conc);
      } catch (e) {
        expect(e).toBeInstanceOf(PowerCut);
        cut = true;
      }
      expect(cut).toBe(true);
      const storedBefore = m.meter.receiver.stats.stored;
      m.powerOff();
      m.flash.reboot();
      rig.clock.advance(5000); // whatever was in flight lands nowhere
      m = bootMeter(rig, "m2", 2001, { flash: m.flash });
      rig.clock.advance(3000);
      const kept = stored(m, img.session.blockCount);
      // at most one erase unit's worth of blocks is lost (a torn block and its unit mates)
      expect(kept.size).toBeGreaterThanOrEqual(storedBefore - 5);
      expect(m.meter.receiver.state()).toBe(1);
      // a torn block or mark is found at start-up and its unit erased
      if (mode === "torn" || mode === "noisy-write") expect(m.meter.receiver.stats.tornUnits).toBe(1);
      const res = download(rig, conc, [2001], img, { skipInitial: true });
      expect(res.complete).toEqual([2001]);
      for (const b of res.sent) expect(kept.has(b), `block ${b} was stored before the cut and fetched again`).toBe(false);
      expect(m.meter.receiver.stats.duplicate).toBe(0);
      expect(m.meter.receiver.state()).toBe(3);
    });
  }

  it("resumes when the same control arrives again after the reboot, instead of starting over", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 4));
    const conc = rig.add("conc", CONC);
    let m = bootMeter(rig, "m", 2002);
    rig.start();
    const img = makeImage(4000, 200);
    request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 2002));
    for (let i = 0; i < 10; i++) post(rig, conc, blockMsg(img, i));
    drain(rig, conc);
    m.powerOff();
    rig.clock.advance(1000);
    m = bootMeter(rig, "m2", 2002, { flash: m.flash });
    rig.clock.advance(3000);
    expect(m.meter.receiver.received()).toBe(10);
    expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 2002))?.type).toBe(T.ACK);
    expect(m.meter.receiver.received()).toBe(10);
  });
});
