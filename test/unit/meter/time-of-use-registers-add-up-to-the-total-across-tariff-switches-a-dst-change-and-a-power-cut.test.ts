import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockPulseInput } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { startMetering, type Billing } from "../../../firmware/meter/metering";
import { Err } from "../../../firmware/common/errors";
import { Key, Kind } from "../../../firmware/protocol/catalogue";
import { Dst } from "../../../firmware/common/calendar";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 16384, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 16 }] };
const REGS = { addr: 0, size: 4096 }, PROF = { addr: 4096, size: 8192 };

function start(flash: MockFlash, kind = Kind.ELECTRICITY) {
  const clock = new VirtualClock();
  const pulse = new MockPulseInput();
  const m = startMetering(kind, clock.scope(), pulse, recordLog(flash, REGS, 32, true, hostNative), recordLog(flash, PROF, 28, false, hostNative), []);
  return { m, clock, pulse };
}

/** TARIFF's 16 bytes from "HH:MM=rate" lists (weekdays, weekend), as the concentrator's console makes them. */
function schedule(weekdays: string, weekend: string): Uint8Array {
  const v = new Uint8Array(16).fill(255);
  [weekdays, weekend].forEach((d, i) => d.split(" ").forEach((sw, k) => {
    const m = /^(\d\d):(\d\d)=(\d)$/.exec(sw)!;
    v[i * 8 + 2 * k] = +m[1] * 4 + +m[2] / 15;
    v[i * 8 + 2 * k + 1] = +m[3];
  }));
  return v;
}
const zone = (off: number, rule: number) => new Uint8Array([off & 255, (off >> 8) & 255, rule]);
const value = (b: Billing, obis: string) => b.regs.find((r) => Array.from(r.obis).join(".") === obis)!;
const rates = (b: Billing) => [1, 2, 3, 4].map((k) => value(b, `1.0.1.8.${k}.255`).value);

/** The rate Berlin's clock gives UTC `t` under the schedule below (weekdays 07:00-22:00 rate 2, weekend 3 then 4 from 12:00). */
function berlinRate(t: number): number {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(new Date(t * 1000)).map((x) => [x.type, x.value]));
  const min = +p.hour * 60 + +p.minute;
  if (p.weekday === "Sat" || p.weekday === "Sun") return min >= 12 * 60 ? 4 : 3;
  return min >= 7 * 60 && min < 22 * 60 ? 2 : 1;
}

describe("time-of-use registers", () => {
  it("count each pulse in the rate its local time gives, across switches and the March DST change, and add up to the total to the Wh", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    // Friday 27 March 2026 00:00 UTC; Berlin's clocks go forward on Sunday 29 March at 01:00 UTC
    const T0 = Date.UTC(2026, 2, 27) / 1000;
    a.m.setTime(T0);
    expect(a.m.setSetting(Key.ZONE, zone(60, Dst.EU))).toBe(0);
    expect(a.m.setSetting(Key.TARIFF, schedule("00:00=1 07:00=2 22:00=1", "00:00=3 12:00=4"))).toBe(0);
    const want = [0, 0, 0, 0, 0];
    // a pulse every 2 minutes (1 Wh each at 1,000 impulses per kWh), half a minute after each minute, for four days
    for (let k = 0; k < 4 * 720; k++) {
      a.clock.advance(120000);
      const t = T0 + (k + 1) * 120;
      a.pulse.edge(a.clock.now());
      want[berlinRate(t)]++;
    }
    const b = a.m.billing()!;
    expect(rates(b)).toEqual(want.slice(1));
    expect(want.slice(1).every((n) => n > 100)).toBe(true);
    expect(rates(b).reduce((x, y) => x + y)).toBe(a.m.register().value);
    expect(b.rate).toBe(berlinRate(T0 + 4 * 86400));
  });

  it("keeps the rates through a power cut: the total and the rates still add up, and pulses since the last switch stay with the rate then in force", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    const T0 = Date.UTC(2026, 5, 1, 4) / 1000; // Monday 1 June 2026 04:00 UTC = 06:00 in Berlin
    a.m.setTime(T0);
    a.m.setSetting(Key.ZONE, zone(60, Dst.EU));
    a.m.setSetting(Key.TARIFF, schedule("00:00=1 07:00=2 22:00=1", "00:00=3"));
    for (let k = 0; k < 300; k++) { a.clock.advance(30000); a.pulse.edge(a.clock.now()); }
    // 2.5 hours: 06:00 to 08:30 in Berlin; the pulses before 07:00 in rate 1 (119), the one at
    // 07:00 sharp comes after the switch, then rate 2 (181); then the power goes
    const before = rates(a.m.billing()!);
    expect(before).toEqual([119, 181, 0, 0]);
    const b = start(flash);
    const after = b.m.billing()!;
    // the register comes back as last saved; every pulse it holds is in a rate, and rate 2 was in force
    expect(rates(after).reduce((x, y) => x + y)).toBe(b.m.register().value);
    expect(rates(after)[0]).toBe(119);
    expect(after.rate).toBe(2);
    expect(b.m.register().value).toBeLessThanOrEqual(300);
    expect(b.m.register().value).toBeGreaterThanOrEqual(200);
    // the schedule and the zone came back from flash too
    expect(Array.from(b.m.getSetting(Key.ZONE)!)).toEqual([60, 0, Dst.EU]);
    expect(Array.from(b.m.getSetting(Key.TARIFF)!)).toEqual(Array.from(schedule("00:00=1 07:00=2 22:00=1", "00:00=3")));
  });

  it("refuses a bad schedule, zone or billing day and changes nothing", () => {
    const a = start(new MockFlash(g));
    const good = schedule("00:00=1 07:00=2", "00:00=1");
    expect(a.m.setSetting(Key.TARIFF, good)).toBe(0);
    const bad = [
      schedule("00:15=1", "00:00=1"), // the day's first switch is not at 00:00
      schedule("00:00=1 07:00=2 06:00=1", "00:00=1"), // out of order
      schedule("00:00=5", "00:00=1"), // rate 5
      schedule("00:00=0", "00:00=1"), // rate 0
      new Uint8Array(15),
    ];
    const late = schedule("00:00=1", "00:00=1"); late[2] = 96; late[3] = 2; // quarter 96
    const gap = schedule("00:00=1", "00:00=1"); gap[4] = 40; gap[5] = 2; // a switch after the end
    for (const v of [...bad, late, gap]) expect(a.m.setSetting(Key.TARIFF, v)).toBe(Err.CONFIG_BAD_VALUE);
    expect(Array.from(a.m.getSetting(Key.TARIFF)!)).toEqual(Array.from(good));
    for (const z of [zone(7, 0), zone(900, 0), zone(-735, 0), zone(60, 2), new Uint8Array(2)]) expect(a.m.setSetting(Key.ZONE, z)).toBe(Err.CONFIG_BAD_VALUE);
    expect(Array.from(a.m.getSetting(Key.ZONE)!)).toEqual([0, 0, 0]);
    expect(a.m.setSetting(Key.ZONE, zone(-300, 0))).toBe(0);
    expect(Array.from(a.m.getSetting(Key.ZONE)!)).toEqual([0xd4, 0xfe, 0]);
    expect(a.m.setSetting(Key.BILLING_DAY, new Uint8Array([29]))).toBe(Err.CONFIG_BAD_VALUE);
    expect(a.m.setSetting(Key.BILLING, new Uint8Array(0))).toBe(Err.CLOCK_NOT_SET);
    // a water meter has no rates nor demand
    const w = start(new MockFlash(g), Kind.WATER);
    expect(w.m.billing()).toBeNull();
    expect(w.m.setSetting(Key.BILLING, new Uint8Array(0))).toBe(Err.CONFIG_BAD_VALUE);
  });
});
