/*
 * Packed images end to end, with the real meter and concentrator programs on the simulated
 * line. The concentrator sends a packed image only to meters whose IDENTITY said their boot
 * routine installs one (meterline.identify()): meters provisioned with such a routine go from
 * a plain v1 to a packed v2 (the coded method; each install runs the boot routine's install,
 * which unpacks); a meter provisioned with an older routine (plain images only) and a meter not
 * identified yet fail with BOOT_NO_UNPACK at the campaign's start and are sent nothing, the
 * campaign's end line naming them. What the concentrator learnt survives its restart (the
 * registry file), and a meter identified later takes the next packed image, v3. Should a
 * packed image reach a meter whose routine cannot install it, the meter refuses its activation
 * with the same code and keeps its program.
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
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
  it("go only to meters whose identity says their boot routine unpacks: they move from a plain v1 to packed v2 and v3; an old routine's meter and one not identified fail with BOOT_NO_UNPACK and are sent nothing", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 41, { defaults: { loss: 0.03 } }));
    const ids = [701, 702, 703, 704];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true, oldBoot: id === 703 });
    let conc: ConcNode = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    const out: string[] = [];
    const files: Record<string, string> = {};
    let ml = consoleApi(conc.ctx, hostNative, 1, (n) => files[n], (l) => out.push(l));
    const appOf = (id: number) => {
      const m = rig.meters.get(id)!, app = m.board.regions.app!;
      return decodeAppHeader(m.flash.read(app.addr, 16), app.size);
    };
    const sessionOf = (id: number) => rig.meters.get(id)!.meter.receiver.session()?.imageId ?? null;
    const flags = () => ids.map((id) => conc.ctx.registry.flags(conc.ctx.registry.find(id)) & Rf.UNPACKS);
    const until = (prefix: string, ms: number) => {
      const end = rig.clock.now() + ms;
      while (!out.some((l) => l.startsWith(prefix)) && rig.clock.now() < end) rig.clock.advance(250);
      return out.find((l) => l.startsWith(prefix));
    };
    const identify = () => {
      out.length = 0;
      expect(ml.identify()).toBe(0);
      return until("meterline: identify round", 120_000);
    };
    const campaign = (imageId: number, version: number, meters: number[]) => {
      const img = plainAndPacked(program(version), { imageId, version, board: rig.meters.get(701)!.board.code, blockSize: 200 });
      const pk = decodePackedHeader((o, n) => img.packed.bytes.subarray(o, o + n), img.packed.bytes.length)!;
      expect(pk.plain).toBe(img.plain.bytes.length);
      expect(img.packed.bytes.length / img.plain.bytes.length).toBeLessThan(0.5);
      files[`v${version}.bin`] = latin1(img.packed.bytes);
      out.length = 0;
      expect(ml.update(`v${version}.bin`, { imageId, version, meters })).toBe(0);
      const end = until(`meterline: campaign ${imageId} ended`, 3_600_000);
      // the programs the boot routines installed have run and confirmed themselves
      rig.clock.advance(60_000);
      return end;
    };

    // the concentrator learns which boot routines unpack; 704 is off the line meanwhile
    rig.line.link("conc", "m704", { loss: 1 });
    expect(identify()).toBe("meterline: identify round: 3 collected, 1 meters did not answer");
    expect(flags()).toEqual([Rf.UNPACKS, Rf.UNPACKS, 0, 0]);
    rig.line.link("conc", "m704", { loss: 0.03 });

    // v2: 703 (an old routine) and 704 (not identified) fail at the start and hear nothing of it
    expect(campaign(61, 2, ids)).toBe(`meterline: campaign 61 ended: 2 of 4 meters updated; failed: 703 E${Err.BOOT_NO_UNPACK} 704 E${Err.BOOT_NO_UNPACK}`);
    expect(ids.map((id) => appOf(id)?.version)).toEqual([2, 2, 1, 1]);
    expect([sessionOf(703), sessionOf(704)]).toEqual([null, null]);

    // the concentrator restarts: what it learnt is in its registry file
    conc.powerOff();
    conc = bootConcentrator(rig, "conc-again", ids, conc);
    rig.clock.advance(3000);
    ml = consoleApi(conc.ctx, hostNative, 1, (n) => files[n], (l) => out.push(l));
    expect(flags()).toEqual([Rf.UNPACKS, Rf.UNPACKS, 0, 0]);
    // 704 answers now
    expect(identify()).toBe("meterline: identify round: 4 collected, 0 meters did not answer");
    expect(flags()).toEqual([Rf.UNPACKS, Rf.UNPACKS, 0, Rf.UNPACKS]);

    // v3 to every meter: 703 still refused and sent nothing, 704 takes it from v1
    expect(campaign(62, 3, ids)).toBe(`meterline: campaign 62 ended: 3 of 4 meters updated; failed: 703 E${Err.BOOT_NO_UNPACK}`);
    expect(ids.map((id) => appOf(id)?.version)).toEqual([3, 3, 1, 3]);
    expect(sessionOf(703)).toBeNull();
    // the app regions hold the plain v3 program the boot routines unpacked
    const v3 = plainAndPacked(program(3), { imageId: 62, version: 3, board: rig.meters.get(701)!.board.code, blockSize: 200 }).plain.bytes;
    for (const id of [701, 702, 704]) {
      const m = rig.meters.get(id)!;
      expect(m.flash.read(m.board.regions.app!.addr, v3.length)).toEqual(v3);
    }
    const reg = conc.ctx.registry;
    expect(ids.map((id) => reg.version(reg.find(id)))).toEqual([3, 3, 1, 3]);

    // had the packed image reached 703 (an old concentrator, or a registry that said otherwise),
    // its program refuses the activation with the same code and keeps v1
    const m703 = rig.meters.get(703)!.meter.receiver;
    const img = plainAndPacked(program(4), { imageId: 63, version: 4, board: rig.meters.get(703)!.board.code, blockSize: 200 }).packed;
    expect(m703.control(img.session, true)).toBe(0);
    for (let i = 0; i < img.session.blockCount; i++) expect(m703.block(63, i, img.bytes.subarray(i * 200, Math.min(img.bytes.length, (i + 1) * 200)))).toBe(0);
    expect(m703.state()).toBe(3);
    expect(m703.activate(63)).toBe(Err.BOOT_NO_UNPACK);
    expect(appOf(703)?.version).toBe(1);
  }, 120_000);
});
