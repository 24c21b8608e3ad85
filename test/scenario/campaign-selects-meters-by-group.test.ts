import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative, latin1 } from "../../hal/mock/native";

// (the campaign scenario tests run the patent's method: issue 14 keeps them on it; the coded one has its own)
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
    expect(ml.update("img.bin", { method: "patent", imageId: 44, version: 2, group: 77 })).toBe(0);
    expect(out[out.length - 1]).toBe("meterline: campaign 44 started: 2000 bytes, 10 blocks, 2 meters");
    wait(() => out.some((l) => l.startsWith("meterline: campaign 44 ended")), 1_800_000);
    expect(out[out.length - 1]).toBe("meterline: campaign 44 ended: every meter done");
    // the group's members run version 2; the others never took the control
    for (const id of ids) {
      const running = rig.meters.get(id)!;
      const v = running.meter.onTrial() ? -1 : (running.flash.read(running.board.regions.app!.addr + 12, 1)[0]);
      expect(v, `meter ${id}`).toBe([502, 504].includes(id) ? 2 : 1);
    }
    // the rule: identify every meter, then select those on this board below version 2
    expect(ml.identify()).toBe(0);
    wait(() => out.some((l) => l.startsWith("meterline: identify round")));
    expect(out[out.length - 1]).toBe("meterline: identify round: 5 collected, 0 meters did not answer");
    const r = conc.ctx.registry;
    expect(ids.map((id) => [r.board(r.find(id)), r.version(r.find(id)), r.group(r.find(id))])).toEqual([[1, 1, 0], [1, 2, 77], [1, 1, 0], [1, 2, 77], [1, 1, 0]]);
    expect(ml.update("img.bin", { method: "patent", imageId: 45, version: 2, meters: "outdated" })).toBe(0);
    expect(out[out.length - 1]).toBe("meterline: campaign 45 started: 2000 bytes, 10 blocks, 3 meters");
    expect(conc.ctx.campaign()!.state(0)).toBe(0);
    ml.abort();
    // another board's image selects none of them
    wait(() => out.some((l) => l.startsWith("meterline: campaign 45 ended")));
    expect(ml.update("img.bin", { method: "patent", imageId: 46, version: 3, board: 3, meters: "outdated" })).toBe(1);
    expect(out[out.length - 1]).toBe("meterline: no meters to update (E1)");
  }, 120_000);

  it("schedules the activation: meters keep the old program until the time set, then run the new one", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 13, { defaults: { loss: 0.02 } }));
    const ids = [601, 602];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true });
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    const out: string[] = [];
    const img = makeProgramImage(2, 1000, 200, { imageId: 51 });
    const ml = consoleApi(conc.ctx, hostNative, 1, () => latin1(img.bytes), (l) => out.push(l), { bitRate: 9600, frameOverhead: 16, hostBaud: 57600 });
    expect(ml.update("img.bin", { method: "patent", imageId: 51, version: 2, activateAt: 1_790_001_000 })).toBe(126); // the clock first
    expect(ml.time(1_790_000_000)).toBe(0);
    rig.clock.advance(2000);
    expect(rig.meters.get(601)!.meter.metering.wallTime()).toBeGreaterThanOrEqual(1_790_000_001);
    expect(ml.update("img.bin", { method: "patent", imageId: 51, version: 2, activateAt: 1_790_001_000 })).toBe(0);
    const version = (id: number) => { const n = rig.meters.get(id)!; return n.flash.read(n.board.regions.app!.addr + 12, 1)[0]; };
    // well before the time: downloads done, programs unchanged
    while (conc.ctx.now() < 1_790_000_900) rig.clock.advance(1000);
    expect(ids.map(version)).toEqual([1, 1]);
    const end = rig.clock.now() + 1_800_000;
    while (!out.some((l) => l.startsWith("meterline: campaign 51 ended")) && rig.clock.now() < end) rig.clock.advance(1000);
    expect(out[out.length - 1]).toBe("meterline: campaign 51 ended: every meter done");
    expect(ids.map(version)).toEqual([2, 2]);
    const t = conc.ctx.campaign()!.totals;
    expect(t.airtimeMs).toBeCloseTo(((t.bytes + 16 * t.frames) * 8000) / 9600, 6);
    ml.progress();
    expect(out[out.length - 1]).toMatch(/frames, \d+ bytes, about \d+ s on air, 2 of 2 meters updated, 0 failed$/);
  }, 120_000);
});
