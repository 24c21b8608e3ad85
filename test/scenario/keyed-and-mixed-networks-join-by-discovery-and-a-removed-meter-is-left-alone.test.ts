/*
 * Joining by discovery where the review of neighbouring concentrators found it broken:
 * - a keyed concentrator claims the key file's meters it has never registered (their claim is
 *   authenticated: they were refused with AUTH_REQUIRED, never joined, before);
 * - in a mixed network it claims its configured unkeyed meters too (their replies were dropped
 *   as not in the key file, and they kept hearing every concentrator);
 * - a meter the operator removed is never claimed by discovery; meterline.home(id) takes it
 *   back into service;
 * - a second discovery is refused while one runs (it used to take over the first's rounds).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { concentratorKeyFile, KEY_FORMAT, type KeyFile } from "../../tools/keys/keyfile";
import { keyFile as keyFileLookup } from "../../firmware/concentrator/keystore";
import { consoleApi } from "../../firmware/concentrator/console";
import { Rf } from "../../firmware/concentrator/registry";
import { Err } from "../../firmware/common/errors";
import { hostNative, latin1 } from "../../hal/mock/native";

describe("joining by discovery", () => {
  it("a keyed concentrator claims its key file's meters and its configured unkeyed ones, never a removed one, and home() takes that one back", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 41, { defaults: { loss: 0 } }));
    const keys: KeyFile = { format: KEY_FORMAT, head: createHash("sha256").update("join head").digest("hex").slice(0, 32), meters: { "3001": "00112233445566778899aabbccddeeff", "3002": "ffeeddccbbaa99887766554433221100" } };
    bootMeter(rig, "m3001", 3001, { key: keys.meters["3001"] });
    bootMeter(rig, "m3002", 3002, { key: keys.meters["3002"] });
    bootMeter(rig, "m3003", 3003); // unkeyed, in the configuration
    bootMeter(rig, "m3004", 3004); // unkeyed, in the configuration, removed by the operator
    const file = concentratorKeyFile(keys);
    let hw = 0;
    const conc = bootConcentrator(rig, "conc", [3003, 3004], undefined, { id: 7 }, {
      keys: keyFileLookup((o, n) => latin1(file.subarray(o, o + n)), file.length),
      counter: { load: () => hw, save: (x) => { hw = x; } },
    });
    rig.clock.advance(3000);
    const out: string[] = [];
    const ml = consoleApi(conc.ctx, hostNative, 1, () => undefined, (l) => out.push(l));
    const wait = (pred: () => boolean) => { const end = rig.clock.now() + 300_000; while (!pred() && rig.clock.now() < end) rig.clock.advance(100); expect(pred()).toBe(true); };
    const home = (id: number) => rig.meters.get(id)!.meter.metering.settings.home;
    const reg = conc.ctx.registry;

    expect(ml.remove(3004)).toBe(0);
    expect(ml.discover(8, 300)).toBe(0);
    // one discovery at a time
    expect(ml.discover(8, 300)).toBe(Err.CAMPAIGN_ABORTED);
    wait(() => out.some((l) => l.startsWith("meterline: discovery found")));
    expect(out.find((l) => l.startsWith("meterline: discovery found"))).toBe("meterline: discovery found 2 new meters, 4 known");
    expect([3001, 3002, 3003, 3004].map(home)).toEqual([7, 7, 7, 0]);
    // the keyed claims went authenticated: no meter refused a frame
    expect([3001, 3002].map((id) => rig.meters.get(id)!.meter.endpoint.stats.authRejected)).toEqual([0, 0]);
    expect([3001, 3002, 3003].every((id) => reg.find(id) >= 0 && !(reg.flags(reg.find(id)) & Rf.REMOVED))).toBe(true);
    expect(reg.flags(reg.find(3004)) & Rf.REMOVED).toBe(Rf.REMOVED);

    // the operator takes 3004 back: claimed, in service again, read by the next round
    out.length = 0;
    expect(ml.home(3004)).toBe(0);
    wait(() => out.length > 0);
    expect(out).toEqual(["meterline: meter 3004 belongs to this concentrator"]);
    expect(home(3004)).toBe(7);
    expect(reg.flags(reg.find(3004)) & Rf.REMOVED).toBe(0);
    out.length = 0;
    expect(ml.read()).toBe(0);
    wait(() => out.some((l) => l.startsWith("meterline: readings round")));
    expect(out.find((l) => l.startsWith("meterline: readings round"))).toBe("meterline: readings round: 4 collected, 0 meters did not answer");
  }, 120_000);
});
