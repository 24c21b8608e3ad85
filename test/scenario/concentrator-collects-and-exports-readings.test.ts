import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";

describe("reading collection", () => {
  it("reads every meter's register, persists it before counting it, and exports CSV and JSON lines", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 8, { defaults: { loss: 0.1 } }));
    const ids = [301, 302, 303, 304, 305];
    for (const [k, id] of ids.entries()) bootMeter(rig, `m${id}`, id, { kind: k === 4 ? 2 : 1 });
    let conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    // pulses: meter i gets 10 * (i + 1)
    ids.forEach((id, i) => {
      const m = rig.meters.get(id)!;
      for (let p = 0; p < 10 * (i + 1); p++) { rig.clock.advance(60); m.pulse.edge(rig.clock.now()); }
    });
    rig.meters.get(304)!.powerOff(); // one meter is dead
    let result: [number, number] | null = null;
    expect(conc.ctx.collect((c, m) => { result = [c, m]; })).toBe(0);
    expect(conc.ctx.collect(() => {})).toBe(93); // a round already runs
    const end = rig.clock.now() + 600_000;
    while (!result && rig.clock.now() < end) rig.clock.advance(100);
    expect(result).toEqual([4, 1]);
    expect(conc.lines.length).toBe(4);
    const r = conc.ctx.registry;
    expect(r.stats(r.find(304)).fail).toBe(1);
    expect(r.stats(r.find(301)).ok).toBeGreaterThan(0);
    // the concentrator loses power: what was collected is still there
    conc.powerOff();
    conc = bootConcentrator(rig, "conc2", ids, conc);
    const csv: string[] = [];
    expect(conc.ctx.exportReadings("csv", (l) => csv.push(l))).toBe(4);
    expect(csv[0]).toBe("meter,obis,value,unit,time,status");
    expect(csv.slice(1).map((l) => l.split(",").slice(0, 4).join(","))).toEqual([
      "301,1-0:1.8.0,10,Wh", "302,1-0:1.8.0,20,Wh", "303,1-0:1.8.0,30,Wh", "305,8-0:1.0.0,0.050,m3",
    ]);
    const json: string[] = [];
    conc.ctx.exportReadings("json", (l) => json.push(l));
    expect(JSON.parse(json[3])).toMatchObject({ meter: 305, obis: "8-0:1.0.0", value: 0.05, unit: "m3" });
  }, 60_000);

  it("collects each meter's load profile since the last interval it has, and only new intervals the next time", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 9, { defaults: { loss: 0.05 } }));
    const m = bootMeter(rig, "m401", 401);
    const conc = bootConcentrator(rig, "conc", [401]);
    rig.clock.advance(3000);
    // 60 intervals of 15 minutes with 3 pulses each (more than one PROFILE answer holds)
    for (let k = 0; k < 60; k++) {
      for (let p = 0; p < 3; p++) { rig.clock.advance(1000); m.pulse.edge(rig.clock.now()); }
      rig.clock.advance(900_000 - 3000);
    }
    const round = () => {
      let res: [number, number] | null = null;
      expect(conc.ctx.collect((c, x) => { res = [c, x]; }, undefined, 2)).toBe(0);
      const end = rig.clock.now() + 600_000;
      while (!res && rig.clock.now() < end) rig.clock.advance(100);
      return res;
    };
    const first = round();
    expect(first![0]).toBeGreaterThanOrEqual(59);
    const profileLines = conc.lines.filter((l) => l.startsWith("401,1-0:1.29.0,"));
    const values = profileLines.map((l) => +l.split(",")[2]);
    // every full interval holds its 3 pulses (3 Wh at 1000 imp/kWh)
    expect(values.filter((v) => v === 3).length).toBeGreaterThanOrEqual(58);
    const times = profileLines.map((l) => +l.split(",")[5]);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(900);
    // a second round right after brings nothing already collected
    const before = conc.lines.length;
    for (let p = 0; p < 3; p++) { rig.clock.advance(1000); m.pulse.edge(rig.clock.now()); }
    rig.clock.advance(900_000);
    const second = round();
    expect(second![0]).toBeLessThanOrEqual(2);
    const again = conc.lines.slice(before).filter((l) => l.startsWith("401,1-0:1.29.0,")).map((l) => +l.split(",")[5]);
    expect(again.length).toBe(second![0]);
    for (const t of again) expect(t).toBeGreaterThan(times[times.length - 1]);
  }, 120_000);

  it("runs register rounds on its own at the configured interval", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 10));
    bootMeter(rig, "m701", 701);
    const conc = bootConcentrator(rig, "conc", [701], undefined, { readingMinutes: 5 });
    rig.clock.advance(3000);
    expect(conc.lines.length).toBe(0);
    rig.clock.advance(5 * 60_000 + 30_000);
    expect(conc.lines.length).toBe(1);
    rig.clock.advance(5 * 60_000);
    expect(conc.lines.length).toBe(2);
  }, 60_000);
  it("sets the clock of a meter that missed the time broadcast when its readings come in", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 21));
    const conc = bootConcentrator(rig, "conc", [801, 802]);
    bootMeter(rig, "m801", 801);
    rig.clock.advance(3000);
    expect(conc.ctx.setTime(1_795_478_400)).toBe(0);
    rig.clock.advance(2000);
    // 802 was off during the broadcast
    const late = bootMeter(rig, "m802", 802);
    rig.clock.advance(3000);
    expect(rig.meters.get(801)!.meter.metering.wallTime()).toBeGreaterThan(1_795_478_400);
    expect(late.meter.metering.wallTime()).toBe(0);
    let res: [number, number] | null = null;
    expect(conc.ctx.collect((c, m) => { res = [c, m]; })).toBe(0);
    while (!res) rig.clock.advance(100);
    rig.clock.advance(2000);
    expect(res).toEqual([2, 0]);
    const now = conc.ctx.now();
    expect(Math.abs(late.meter.metering.wallTime() - now)).toBeLessThanOrEqual(1);
    // its reading was filed at the concentrator's time, not the meter's uptime
    const line802 = conc.lines.find((l) => l.startsWith("802,"))!;
    expect(Math.abs(+line802.split(",")[5] - now)).toBeLessThanOrEqual(5);
  }, 60_000);
});
