/*
 * Packed images end to end, with the real meter and concentrator programs on the simulated
 * line: meters provisioned with a boot routine that unpacks go from a plain v1 to a packed
 * v2 and then a packed v3 (the coded method; each install runs the boot routine's install,
 * which unpacks); a meter provisioned with an older boot routine (it installs plain images
 * only) downloads v2 like the others, refuses its activation with BOOT_NO_UNPACK, and keeps
 * running v1. The campaign's end line names it with its code. Once the concentrator has
 * identified its meters (IDENTITY carries whether the boot routine unpacks), a packed
 * campaign fails that meter with the same code at its start and sends it nothing.
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { plainAndPacked } from "../../bench/image";
import { consoleApi } from "../../firmware/concentrator/console";
import { decodeAppHeader, decodePackedHeader } from "../../firmware/common/image";
import { hostNative, latin1 } from "../../hal/host/native";
import { Err } from "../../firmware/common/errors";
import { Rf } from "../../firmware/concentrator/registry";

/** A program that packs as real ones do (repeated names and statements). */
function program(version: number): Uint8Array {
  return new TextEncoder().encode(`/*v${version}*/` + Array.from({ length: 220 }, (_, i) => `var r${i % 29}=meterline&&${i}+${version};`).join(""));
}

describe("packed images", () => {
  it("take meters with a boot routine that unpacks from a plain v1 to a packed v2 and v3; a meter with an older boot routine refuses v2 with BOOT_NO_UNPACK and keeps v1, and once identified is sent nothing of v3", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 41, { defaults: { loss: 0.03 } }));
    const ids = [701, 702, 703];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true, oldBoot: id === 703 });
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    const out: string[] = [];
    const files: Record<string, string> = {};
    const ml = consoleApi(conc.ctx, hostNative, 1, (n) => files[n], (l) => out.push(l));
    const appOf = (id: number) => {
      const m = rig.meters.get(id)!, app = m.board.regions.app!;
      return decodeAppHeader(m.flash.read(app.addr, 16), app.size);
    };
    const campaign = (imageId: number, version: number, meters: number[]) => {
      const img = plainAndPacked(program(version), { imageId, version, board: rig.meters.get(701)!.board.code, blockSize: 200 });
      const pk = decodePackedHeader((o, n) => img.packed.bytes.subarray(o, o + n), img.packed.bytes.length)!;
      expect(pk.plain).toBe(img.plain.bytes.length);
      expect(img.packed.bytes.length / img.plain.bytes.length).toBeLessThan(0.5);
      files[`v${version}.bin`] = latin1(img.packed.bytes);
      expect(ml.update(`v${version}.bin`, { imageId, version, meters })).toBe(0);
      const end = rig.clock.now() + 3_600_000;
      while (!out.some((l) => l.startsWith(`meterline: campaign ${imageId} ended`)) && rig.clock.now() < end) rig.clock.advance(250);
      // the programs the boot routines installed have run and confirmed themselves
      rig.clock.advance(60_000);
      return out.find((l) => l.startsWith(`meterline: campaign ${imageId} ended`));
    };

    expect(campaign(61, 2, ids)).toBe(`meterline: campaign 61 ended: 2 of 3 meters updated; failed: 703 E${Err.BOOT_NO_UNPACK}`);
    // the app regions hold the plain v2 program, unpacked by the boot routine; 703 still runs v1
    expect(appOf(701)?.version).toBe(2);
    expect(appOf(702)?.version).toBe(2);
    expect(appOf(703)?.version).toBe(1);
    expect(rig.meters.get(703)!.meter.receiver.state()).toBe(3); // the download verified; only the activation was refused

    // the concentrator learns from IDENTITY which boot routines unpack
    const reg = conc.ctx.registry;
    expect(ids.map((id) => reg.flags(reg.find(id)) & Rf.UNPACKS)).toEqual([0, 0, 0]);
    expect(ml.identify()).toBe(0);
    const idEnd = rig.clock.now() + 120_000;
    while (!out.some((l) => l.startsWith("meterline: identify round")) && rig.clock.now() < idEnd) rig.clock.advance(250);
    expect(out.find((l) => l.startsWith("meterline: identify round"))).toBe("meterline: identify round: 3 collected, 0 meters did not answer");
    expect(ids.map((id) => reg.flags(reg.find(id)) & Rf.UNPACKS)).toEqual([Rf.UNPACKS, Rf.UNPACKS, 0]);

    // v3 to all three: 703 fails at the start with 108 and never hears of image 62
    const sent703 = () => rig.meters.get(703)!.meter.receiver.session();
    expect(sent703()?.imageId).toBe(61);
    expect(campaign(62, 3, ids)).toBe(`meterline: campaign 62 ended: 2 of 3 meters updated; failed: 703 E${Err.BOOT_NO_UNPACK}`);
    expect(sent703()?.imageId).toBe(61);
    expect(appOf(701)?.version).toBe(3);
    expect(appOf(702)?.version).toBe(3);
    expect(appOf(703)?.version).toBe(1);
    // the versions IDENTITY reported, then the ones the v3 campaign installed
    expect(ids.map((id) => reg.version(reg.find(id)))).toEqual([3, 3, 1]);
  }, 120_000);
});
