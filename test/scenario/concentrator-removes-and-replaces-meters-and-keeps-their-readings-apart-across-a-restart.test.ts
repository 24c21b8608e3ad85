import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
import { meterlineOf } from "../../tools/headend/bench";
import { readingFields } from "../../firmware/concentrator/readings";
import { Rf } from "../../firmware/concentrator/registry";
import { Err } from "../../firmware/common/errors";

type Api = Record<string, (...a: unknown[]) => number>;

function round(rig: LinkRig, conc: ConcNode): void {
  let done = false;
  expect(conc.ctx.collect(() => { done = true; })).toBe(0);
  const end = rig.clock.now() + 600_000;
  while (!done && rig.clock.now() < end) rig.clock.advance(100);
  expect(done).toBe(true);
}

/** Register readings filed per meter. */
function perMeter(conc: ConcNode): Record<number, number> {
  const n: Record<number, number> = {};
  for (const l of conc.lines) { const f = readingFields(l); if (f && f[1] === "1-0:1.8.0") n[+f[0]] = (n[+f[0]] ?? 0) + 1; }
  return n;
}

describe("the registry's remove and replace (issue 20, item 6)", () => {
  it("a removed meter is no longer read, a replacing one takes the old one's group on the line, their readings stay apart, and a restart keeps it all", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 41, { defaults: { loss: 0 } }));
    for (const id of [801, 802, 803]) bootMeter(rig, `m${id}`, id);
    let conc = bootConcentrator(rig, "conc", [801, 802]);
    rig.clock.advance(3000);
    const said: string[] = [];
    let api = meterlineOf(conc, (l) => said.push(l)) as unknown as Api;
    // 801 in group 5
    expect(api.join(801, 5)).toBe(0);
    rig.clock.advance(5000);
    expect(said.pop()).toBe("meterline: meter 801 in group 5");
    round(rig, conc);
    expect(perMeter(conc)).toEqual({ 801: 1, 802: 1 });

    expect(api.remove(802)).toBe(0);
    expect(said.pop()).toBe("meterline: meter 802 removed (its readings stay)");
    expect(api.remove(802)).toBe(Err.UNKNOWN_METER); // twice: no such meter any more
    expect(api.remove(999)).toBe(Err.UNKNOWN_METER);

    expect(api.replace(801, 802)).toBe(Err.BAD_ARG); // a new id already known (removed) is refused
    expect(api.replace(801, 803)).toBe(0);
    expect(said).toContain("meterline: meter 803 replaces 801");
    rig.clock.advance(5000);
    expect(said.pop()).toBe("meterline: meter 803 in group 5");
    expect(rig.meters.get(803)!.meter.metering.inGroup(5)).toBe(true);
    round(rig, conc);
    // 801 and 802 asked no more; 803 read; the old readings still there, each under its own id
    expect(perMeter(conc)).toEqual({ 801: 1, 802: 1, 803: 1 });
    const listed: string[] = [];
    api = meterlineOf(conc, (l) => listed.push(l)) as unknown as Api;
    expect(api.meters()).toBe(3);
    expect(listed.filter((l) => l.endsWith(" removed")).map((l) => +l.split(" ")[0])).toEqual([801, 802]);

    // a restart: the configuration still names 801 and 802; they stay removed, 803 keeps group 5
    conc.powerOff();
    conc = bootConcentrator(rig, "conc2", [801, 802], conc);
    rig.clock.advance(3000);
    const reg = conc.ctx.registry;
    expect(reg.flags(reg.find(801)) & Rf.REMOVED).toBe(Rf.REMOVED);
    expect(reg.flags(reg.find(802)) & Rf.REMOVED).toBe(Rf.REMOVED);
    expect(reg.flags(reg.find(803)) & Rf.REMOVED).toBe(0);
    expect(reg.group(reg.find(803))).toBe(5);
    round(rig, conc);
    expect(perMeter(conc)).toEqual({ 801: 1, 802: 1, 803: 2 });
  }, 60_000);
});
