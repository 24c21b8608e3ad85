import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative, latin1 } from "../../hal/host/native";
import { Err } from "../../firmware/common/errors";
import { nameCodes } from "../../tools/errors/table";

describe("the campaign's end line", () => {
  it("names each meter that failed with its code, so the console, deploy and a head-end can say why; the registry records the version of the meters it updated", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 31, { defaults: { loss: 0.02 } }));
    const ids = [601, 602, 603];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true });
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    // meter 603 leaves the line once it is registered: it never answers the campaign
    rig.line.link("conc", "m603", { loss: 1 });
    const out: string[] = [];
    const img = makeProgramImage(2, 2000, 200, { imageId: 45 });
    const files: Record<string, string> = { "img.bin": latin1(img.bytes) };
    const ml = consoleApi(conc.ctx, hostNative, 1, (n) => files[n], (l) => out.push(l));
    expect(ml.update("img.bin", { imageId: 45, version: 2, method: "patent" })).toBe(0);
    const end = rig.clock.now() + 3_600_000;
    while (!out.some((l) => l.startsWith("meterline: campaign 45 ended")) && rig.clock.now() < end) rig.clock.advance(200);
    const last = out[out.length - 1];
    expect(last).toBe(`meterline: campaign 45 ended: 2 of 3 meters updated; failed: 603 E${Err.CAMPAIGN_NO_ANSWER}`);
    // the host names the code in the same line
    expect(nameCodes(last)).toContain(`603 E${Err.CAMPAIGN_NO_ANSWER} CAMPAIGN_NO_ANSWER: `);
    // the registry knows who runs v2 now: an "outdated" campaign takes only the meter that failed
    const reg = conc.ctx.registry;
    expect(ids.map((id) => reg.version(reg.find(id)))).toEqual([2, 2, 0]); // (603: never identified)
    expect(ml.update("img.bin", { imageId: 46, version: 2, method: "patent", meters: "outdated" })).toBe(0);
    expect(out[out.length - 1]).toBe("meterline: campaign 46 started: 2000 bytes, 10 blocks, 1 meters");
  }, 60_000);
});
