import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockPulseInput } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog, type RecordLog } from "../../../firmware/common/records";
import { eventOf, Pr, startMetering, type Billing } from "../../../firmware/meter/metering";
import { Ev, Key, Kind } from "../../../firmware/protocol/catalogue";
import { Dst } from "../../../firmware/common/calendar";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 16384, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 16 }] };
const REGS = { addr: 0, size: 4096 }, PROF = { addr: 4096, size: 8192 };

function start(flash: MockFlash) {
  const clock = new VirtualClock();
  const pulse = new MockPulseInput();
  const prof = recordLog(flash, PROF, 28, false, hostNative);
  const m = startMetering(Kind.ELECTRICITY, clock.scope(), pulse, recordLog(flash, REGS, 32, true, hostNative), prof, []);
  return { m, clock, pulse, prof };
}
const reg = (b: Billing, obis: string) => b.regs.find((r) => Array.from(r.obis).join(".") === obis)!;
const demand = (b: Billing) => ({ now: reg(b, "1.0.1.6.0.255").value, at: reg(b, "1.0.1.6.0.255").at, prev: reg(b, "1.0.1.6.0.101").value, prevAt: reg(b, "1.0.1.6.0.101").at });
function events(prof: RecordLog, code: number) {
  const out: { time: number; data: number }[] = [];
  prof.forEach((t, _s, p) => { if (t === Pr.EVENT && eventOf(p).code === code) out.push({ time: eventOf(p).time, data: eventOf(p).data }); });
  return out;
}
/** `n` pulses over the next `s` seconds, each in the middle of its share (none on a boundary); the clock moves by s. */
function pulses(a: ReturnType<typeof start>, n: number, s: number) {
  for (let k = 0; k < n; k++) { a.clock.advance((s * 500) / n); a.pulse.edge(a.clock.now()); a.clock.advance((s * 500) / n); }
}

describe("maximum demand", () => {
  it("is the highest average power over a whole 15-minute interval of the period, with the interval's end; partial intervals do not count", () => {
    const a = start(new MockFlash(g));
    const T0 = Date.UTC(2026, 4, 4, 10, 5) / 1000; // 10:05 UTC: the first interval, 10:00 to 10:15, is partial
    a.m.setTime(T0);
    pulses(a, 600, 600); // 600 Wh in the partial interval's last 10 minutes: 3,600 W were it counted
    expect(demand(a.m.billing()!).now).toBe(0);
    pulses(a, 250, 900); // 10:15 to 10:30: 250 Wh in 15 min = 1,000 W
    pulses(a, 100, 900); // 10:30 to 10:45: 400 W
    a.clock.advance(1000);
    let d = demand(a.m.billing()!);
    expect(d).toEqual({ now: 1000, at: Date.UTC(2026, 4, 4, 10, 30) / 1000, prev: 0, prevAt: 0 });
    pulses(a, 300, 899); // 10:45:01 to 11:00: 1,200 W
    d = demand(a.m.billing()!);
    expect(d.now).toBe(1200);
    expect(d.at).toBe(Date.UTC(2026, 4, 4, 11, 0) / 1000);
  });

  it("ends the billing period by command: the maximum becomes the previous period's, written as an event, and the new period starts at zero", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    const T0 = Date.UTC(2026, 4, 4, 10) / 1000;
    a.m.setTime(T0);
    expect(a.m.getSetting(Key.BILLING)).toEqual(new Uint8Array([T0 & 255, (T0 >>> 8) & 255, (T0 >>> 16) & 255, T0 >>> 24]));
    pulses(a, 900, 900); // the interval the clock was set in: partial, not counted
    pulses(a, 500, 900); // 10:15 to 10:30: 2,000 W
    a.clock.advance(60000);
    expect(a.m.setSetting(Key.BILLING, new Uint8Array(0))).toBe(0);
    const end = T0 + 1860;
    expect(demand(a.m.billing()!)).toEqual({ now: 0, at: 0, prev: 2000, prevAt: T0 + 1800 });
    expect(a.m.billing()!.start).toBe(end);
    expect(events(a.prof, Ev.BILLING_END)).toEqual([{ time: end, data: 2000 }]);
    // kept through a power cut
    const b = start(flash);
    expect(demand(b.m.billing()!)).toEqual({ now: 0, at: 0, prev: 2000, prevAt: T0 + 1800 });
    expect(b.m.billing()!.start).toBe(end);
  });

  it("ends the billing period at the billing day's local midnight, also when the meter was off then", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    // 30 June 2026, 21:00 UTC = 23:00 in Berlin (summer time); billing day 1
    const T0 = Date.UTC(2026, 5, 30, 21) / 1000;
    a.m.setTime(T0);
    a.m.setSetting(Key.ZONE, new Uint8Array([60, 0, Dst.EU]));
    expect(a.m.setSetting(Key.BILLING_DAY, new Uint8Array([1]))).toBe(0);
    pulses(a, 10, 900); // the interval the clock was set in: partial
    pulses(a, 300, 900); // 21:15 to 21:30: 1,200 W
    a.clock.advance(31 * 60000); // past 22:00 UTC, Berlin's midnight
    const midnight = Date.UTC(2026, 5, 30, 22) / 1000;
    expect(events(a.prof, Ev.BILLING_END)).toEqual([{ time: midnight, data: 1200 }]);
    expect(a.m.billing()!.start).toBe(midnight);
    expect(demand(a.m.billing()!).prev).toBe(1200);
    // the next month's: the meter is off over 1 August's midnight and comes back on 3 August
    pulses(a, 100, 900);
    const b = start(flash);
    b.m.setTime(Date.UTC(2026, 7, 3, 12) / 1000);
    const ends = events(b.prof, Ev.BILLING_END);
    expect(ends.length).toBe(2);
    expect(ends[1].time).toBe(Date.UTC(2026, 6, 31, 22) / 1000);
    expect(b.m.billing()!.start).toBe(Date.UTC(2026, 6, 31, 22) / 1000);
  });
});
