import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../harness/link-rig";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative, latin1 } from "../../hal/mock/native";

describe("selecting meters by group", () => {
  it("puts meters in a group from the console and updates exactly that group", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 12, { defaults: { loss: 0.05 } }));
    const ids = [501, 502, 503, 504, 505];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true });
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    const out: string[] = [];
    const img = makeProgramImage(2, 2000, 200, { imageId: 44 });
    const files: Record<string, string> = { "img.bin": latin1(img.bytes) };
    const ml = consoleApi(conc.ctx, hostNative, 1, (n) => files[n], (l) => out.push(l));
    const wait = (pred: () => boolean, ms = 120_000) => { const end = rig.clock.now() + ms; while (!pred() && rig.clock.now() < end) rig.clock.advance(100); };
    for (const id of [502, 504]) {
      expect(ml.join(id, 77)).toBe(0);
      wait(() => out.some((l) => l.includes(`meter ${id} in group 77`)));
    }
    expect(ml.join(999, 77)).toBe(128);
    expect(ml.join(501, 0)).toBe(1);
    expect(rig.meters.get(502)!.meter.metering.groups).toEqual([77]);
    expect(ml.update("img.bin", { imageId: 44, version: 2, group: 77 })).toBe(0);
    expect(out[out.length - 1]).toBe("meterline: campaign 44 started: 2000 bytes, 10 blocks, 2 meters");
    wait(() => out.some((l) => l.startsWith("meterline: campaign 44 ended")), 1_800_000);
    expect(out[out.length - 1]).toBe("meterline: campaign 44 ended: every meter done");
    // the group's members run version 2; the others never took the control
    for (const id of ids) {
      const running = rig.meters.get(id)!;
      const v = running.meter.onTrial() ? -1 : (running.flash.read(running.board.regions.app!.addr + 12, 1)[0]);
      expect(v, `meter ${id}`).toBe([502, 504].includes(id) ? 2 : 1);
    }
  }, 120_000);
});
