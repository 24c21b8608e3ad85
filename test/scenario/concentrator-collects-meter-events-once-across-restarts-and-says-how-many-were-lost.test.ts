import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
import { Ev, Rd } from "../../firmware/protocol/catalogue";
import { EVENT_OBIS, readingFields } from "../../firmware/concentrator/readings";

const T0 = 1700000000;

function round(rig: LinkRig, conc: ConcNode, what: number): [number, number] {
  let res: [number, number] | null = null;
  expect(conc.ctx.collect((c, x) => { res = [c, x]; }, undefined, what)).toBe(0);
  const end = rig.clock.now() + 600_000;
  while (!res && rig.clock.now() < end) rig.clock.advance(100);
  expect(res).not.toBeNull();
  return res!;
}

/** The event lines kept: [meter, code, time, data, n]. */
function eventLines(conc: ConcNode): number[][] {
  return conc.lines.map(readingFields).filter((f): f is string[] => !!f && f[1] === EVENT_OBIS).map((f) => [+f[0], +f[2], +f[5], +f[6], +f[7]]);
}

describe("the concentrator's collection of the meters' event logs", () => {
  it("collects every event once, in several asks, across a restart of the concentrator, and exports them", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 31));
    const m = bootMeter(rig, "m701", 701);
    const m2 = bootMeter(rig, "m702", 702);
    let conc = bootConcentrator(rig, "conc", [701, 702]);
    rig.clock.advance(3000);
    expect(conc.ctx.setTime(T0)).toBe(0);
    rig.clock.advance(5000);
    // 20 configuration changes on one meter: more than one EVENTS answer holds
    for (let k = 0; k < 20; k++) expect(m.meter.metering.setSetting(3, Uint8Array.of(10 + k, 0))).toBe(0);
    expect(round(rig, conc, Rd.EVENTS)).toEqual([24, 0]);
    let ev = eventLines(conc);
    expect(ev.filter((e) => e[0] === 701).map((e) => e[4])).toEqual(Array.from({ length: 22 }, (_, k) => k + 1));
    expect(ev.filter((e) => e[0] === 702).map((e) => e[1])).toEqual([Ev.POWER_UP, Ev.REGISTER_RESET]);
    expect(ev.find((e) => e[0] === 701 && e[4] === 3)).toEqual([701, Ev.CONFIG_CHANGED, ev.find((e) => e[4] === 3)![2], 3, 3]);
    // nothing new: nothing filed
    expect(round(rig, conc, Rd.EVENTS)).toEqual([0, 0]);
    // the concentrator restarts: its marks come back from the store, nothing is filed twice
    conc.powerOff();
    conc = bootConcentrator(rig, "conc2", [701, 702], conc);
    rig.clock.advance(3000);
    m2.meter.metering.setSetting(3, Uint8Array.of(99, 0));
    expect(round(rig, conc, Rd.EVENTS)).toEqual([1, 0]);
    ev = eventLines(conc);
    expect(ev.length).toBe(25);
    expect(new Set(ev.map((e) => e[0] + ":" + e[4])).size).toBe(25);
    // the export: JSON lines with the event's code, time, data and number
    const out: string[] = [];
    conc.ctx.exportReadings("json", (l) => out.push(l), 0, 1000);
    const json = out.map((l) => JSON.parse(l)).filter((o) => o.obis === EVENT_OBIS);
    expect(json.length).toBe(25);
    expect(json[json.length - 1]).toMatchObject({ meter: 702, event: Ev.CONFIG_CHANGED, data: 3, n: 3 });
    expect(typeof json[0].pos).toBe("number");
    const csv: string[] = [];
    conc.ctx.exportReadings("csv", (l) => csv.push(l));
    expect(csv.filter((l) => l.includes(EVENT_OBIS)).length).toBe(25);
    expect(csv.find((l) => l.startsWith("702," + EVENT_OBIS + "," + Ev.CONFIG_CHANGED + ",event,"))).toMatch(/,3$/);
  }, 60_000);

  it("files a line saying how many events a meter let go before they were collected, then the rest, and the counts add up", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 32));
    const m = bootMeter(rig, "m703", 703);
    const conc = bootConcentrator(rig, "conc", [703]);
    rig.clock.advance(3000);
    expect(conc.ctx.setTime(T0)).toBe(0);
    rig.clock.advance(5000);
    expect(round(rig, conc, Rd.EVENTS)).toEqual([2, 0]);
    // far more events than the profile's ring holds, before the next round
    const n = 300;
    for (let k = 0; k < n; k++) m.meter.metering.setSetting(3, Uint8Array.of(k & 0xff, 1));
    const last = m.meter.metering.event(0, 0);
    expect(last).toBe(2 + n);
    round(rig, conc, Rd.EVENTS);
    round(rig, conc, Rd.EVENTS);
    round(rig, conc, Rd.EVENTS);
    const ev = eventLines(conc);
    const lost = ev.filter((e) => e[1] === Ev.EVENTS_LOST);
    expect(lost.length).toBe(1);
    const kept = ev.filter((e) => e[1] !== Ev.EVENTS_LOST && e[4] > 2);
    expect(lost[0][3]).toBeGreaterThan(0);
    // every number from 3 to the newest is either said lost or collected, once
    expect(lost[0][3] + kept.length).toBe(n);
    expect(lost[0][4]).toBe(kept[0][4] - 1);
    expect(kept[kept.length - 1][4]).toBe(last);
  }, 60_000);

  it("starts again from the first event when a meter's numbering went back (its regions erased)", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 33));
    const m = bootMeter(rig, "m704", 704);
    const conc = bootConcentrator(rig, "conc", [704]);
    rig.clock.advance(3000);
    expect(conc.ctx.setTime(T0)).toBe(0);
    rig.clock.advance(5000);
    for (let k = 0; k < 5; k++) m.meter.metering.setSetting(3, Uint8Array.of(10 + k, 0));
    expect(round(rig, conc, Rd.EVENTS)).toEqual([7, 0]);
    // provisioned again: a new meter with the same id, from an erased flash
    m.powerOff();
    const again = bootMeter(rig, "m704b", 704);
    rig.clock.advance(3000);
    expect(conc.ctx.setTime(T0 + 600)).toBe(0);
    rig.clock.advance(5000);
    again.meter.metering.setSetting(3, Uint8Array.of(1, 0));
    expect(round(rig, conc, Rd.EVENTS)).toEqual([3, 0]);
    expect(eventLines(conc).slice(-3).map((e) => [e[1], e[4]])).toEqual([[Ev.POWER_UP, 1], [Ev.REGISTER_RESET, 2], [Ev.CONFIG_CHANGED, 3]]);
  }, 60_000);
});
