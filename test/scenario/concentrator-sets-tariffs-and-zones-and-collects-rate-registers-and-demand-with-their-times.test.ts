import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
import { Ev, Key, Kind } from "../../firmware/protocol/catalogue";
import { readingFields } from "../../firmware/concentrator/readings";
import { consoleApi } from "../../firmware/concentrator/console";
import { hostNative } from "../../hal/mock/native";
import { Err } from "../../firmware/common/errors";

// Monday 4 May 2026, 04:00 UTC (06:00 in Berlin)
const T0 = Date.UTC(2026, 4, 4, 4) / 1000;

function settle(rig: LinkRig, out: string[], want: RegExp, ms = 60_000): string {
  const end = rig.clock.now() + ms;
  while (rig.clock.now() < end) {
    const l = out.find((x) => want.test(x));
    if (l) return l;
    rig.clock.advance(100);
  }
  throw new Error(`no line like ${want}; got ${out.join(" | ")}`);
}

/** Lines kept for `obis`: [meter, value, unit, time, status]. */
const lines = (conc: ConcNode, obis: string) => conc.lines.map(readingFields).filter((f): f is string[] => !!f && f[1] === obis).map((f) => [+f[0], +f[2], +f[3], +f[5], +f[6]]);

describe("time of use through the concentrator", () => {
  it("sets a meter's tariff, zone and billing day from the console, collects its rates and maximum demand with their times, skips a water meter and ends a billing period", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 41));
    const e = bootMeter(rig, "m801", 801);
    bootMeter(rig, "m802", 802, { kind: Kind.WATER });
    const conc = bootConcentrator(rig, "conc", [801, 802]);
    const out: string[] = [];
    const ml = consoleApi(conc.ctx, hostNative, 1, () => undefined, (l) => out.push(l));
    rig.clock.advance(3000);
    expect(conc.ctx.setTime(T0)).toBe(0);
    rig.clock.advance(5000);
    // the kinds, so the billing round knows the water meter
    expect(ml.identify()).toBe(0);
    settle(rig, out, /identify round/);
    // bad arguments change nothing and name what is wanted
    expect(ml.tariff(801, "00:00=1 07:10=2")).toBe(Err.BAD_ARG);
    expect(ml.tariff(801, "07:00=2")).toBe(Err.BAD_ARG);
    expect(ml.zone(801, 61, "EU")).toBe(Err.BAD_ARG);
    expect(ml.zone(801, 60, "US")).toBe(Err.BAD_ARG);
    expect(ml.billingDay(801, 31)).toBe(Err.BAD_ARG);
    expect(out.filter((l) => l.includes("tariff(meter id")).length).toBe(2);
    expect(ml.zone(801, 60, "EU")).toBe(0);
    settle(rig, out, /meter 801: zone set/);
    expect(ml.tariff(801, "00:00=1 07:00=2 22:00=1", "00:00=3")).toBe(0);
    settle(rig, out, /meter 801: tariff set/);
    expect(Array.from(e.meter.metering.getSetting(Key.TARIFF)!)).toEqual([0, 1, 28, 2, 88, 1, 255, 255, 0, 3, 255, 255, 255, 255, 255, 255]);
    // 06:00 in Berlin: rate 1; an hour and a half of pulses, 07:00 switches to rate 2
    for (let k = 0; k < 180; k++) { rig.clock.advance(30_000); e.pulse.edge(rig.clock.now()); }
    out.length = 0;
    expect(ml.billing()).toBe(0);
    // four rates and the maximum (the previous period has none yet: not filed)
    settle(rig, out, /billing round: 5 collected, 0 meters did not answer/);
    const r1 = lines(conc, "1-0:1.8.1"), r2 = lines(conc, "1-0:1.8.2"), total = e.meter.metering.register().value;
    expect(r1.length).toBe(1);
    expect(r1[0][0]).toBe(801);
    expect(r1[0][1] + r2[0][1] + lines(conc, "1-0:1.8.3")[0][1] + lines(conc, "1-0:1.8.4")[0][1]).toBe(total);
    expect(r2[0][1]).toBeGreaterThan(40);
    expect(r1[0][1]).toBeGreaterThan(40);
    // the demand: the highest whole quarter hour (a pulse every 30 s: 30 Wh in 15 min = 120 W), at its end; W is unit 27
    const d = lines(conc, "1-0:1.6.0");
    expect(d.length).toBe(1);
    expect(d[0][1]).toBe(120);
    expect(d[0][2]).toBe(27);
    expect(d[0][3] % 900).toBe(0);
    expect(d[0][3]).toBeGreaterThan(T0);
    // no previous period yet: not filed; the water meter was not asked
    expect(lines(conc, "1-0:1.6.0*101")).toEqual([]);
    expect(conc.lines.some((l) => l.startsWith("802,1-0:1.8"))).toBe(false);
    // the period ends by command: the maximum moves to 1-0:1.6.0*101, and the meter writes the event
    expect(ml.endBilling(801)).toBe(0);
    settle(rig, out, /meter 801: billing period ended/);
    out.length = 0;
    expect(ml.billing(801)).toBe(0);
    settle(rig, out, /billing round/);
    expect(lines(conc, "1-0:1.6.0*101")).toEqual([[801, 120, 27, d[0][3], 0]]);
    expect(ml.events(801)).toBe(0);
    settle(rig, out, /events round/);
    expect(conc.lines.some((l) => l.startsWith("801,0-0:99.98.0," + Ev.BILLING_END + ",255,0,") && l.includes(",120,"))).toBe(true);
  }, 120_000);

  it("takes a water meter's refusal of the billing round, before its kind is known, as its answer: the round goes on at once instead of asking it again", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 43));
    bootMeter(rig, "m803", 803, { kind: Kind.WATER });
    const conc = bootConcentrator(rig, "conc", [803]);
    const out: string[] = [];
    const ml = consoleApi(conc.ctx, hostNative, 1, () => undefined, (l) => out.push(l));
    rig.clock.advance(3000);
    expect(conc.ctx.setTime(T0)).toBe(0);
    rig.clock.advance(5000);
    const t0 = rig.clock.now();
    expect(ml.billing()).toBe(0);
    // no identify round: the concentrator does not know 803 is a water meter and asks; it answers ERROR 1
    expect(settle(rig, out, /billing round/)).toBe("meterline: billing round: 0 collected, 0 meters did not answer");
    // one exchange, not three attempts of 3 s each
    expect(rig.clock.now() - t0).toBeLessThan(3000);
    expect(conc.lines.some((l) => l.startsWith("803,1-0:1."))).toBe(false);
  }, 60_000);
});
