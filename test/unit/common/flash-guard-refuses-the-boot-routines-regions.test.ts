import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { guardedFlash } from "../../../firmware/common/flash-guard";
import { LinkRig, bootMeter, lineFor } from "../../../bench/rig";
import { CONC, blockMsg, controlBody, drain, makeImage, msg, post, request } from "../../harness/scripted-concentrator";

const FLASH_PROTECTED = 23;
const g = { base: 0, size: 8192, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 8 }] };

describe("the flash guard", () => {
  it("refuses writes and erases that touch a protected region, by code, and changes nothing", () => {
    const f = new MockFlash(g);
    const guarded = guardedFlash(f, [{ addr: 1024, size: 1024 }, { addr: 4096, size: 1024 }]);
    const ops = f.ops;
    expect(() => guarded.write(1020, new Uint8Array(8))).toThrow(); // straddles the start
    try { guarded.write(2044, new Uint8Array(4)); } catch (e) { expect(e).toBe(FLASH_PROTECTED); }
    expect(() => guarded.erase(1024)).toThrow();
    expect(() => guarded.erase(4096)).toThrow();
    expect(f.ops).toBe(ops);
    guarded.write(2048, Uint8Array.of(1, 2, 3, 4));
    guarded.erase(0);
    expect([...guarded.read(2048, 4)]).toEqual([1, 2, 3, 4]);
  });

  it("is what the meter program writes through: a buffer misplaced onto the boot region is never written", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 1));
    const conc = rig.add("conc", CONC);
    const probe = bootMeter(rig, "probe", 1);
    const boot = probe.board.regions.boot!;
    probe.powerOff();
    // a meter whose buffer region was (wrongly) configured over its boot region
    const m = bootMeter(rig, "m", 9001, { regions: { buffer: { addr: boot.addr, size: boot.size } } });
    rig.start();
    const before = m.flash.read(boot.addr, boot.size);
    const img = makeImage(2000, 200);
    let refused: unknown = null;
    try {
      request(rig, conc, msg(0x41, controlBody(img.session), 9001));
      for (let i = 0; i < 3; i++) post(rig, conc, blockMsg(img, i));
      drain(rig, conc);
    } catch (e) { refused = e; }
    expect(refused).toBe(FLASH_PROTECTED);
    expect(m.flash.read(boot.addr, boot.size)).toEqual(before);
  });
});
