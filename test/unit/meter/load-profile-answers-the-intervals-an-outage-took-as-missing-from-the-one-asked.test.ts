/*
 * A meter that was off has no intervals for the time it was off. Asked for its profile from
 * the interval after the last one collected, it answers from there, the intervals it has none
 * of MISSING (status 1, value 0), so the concentrator files a contiguous profile (before: the
 * answer started at the first interval after the outage, and the gap was never filed; seen in
 * npm start's default scenario at seed 12, an outage right after a profile round). Intervals
 * timed before the clock was set (uptime) are no ground for it.
 */
import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockPulseInput } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { Iv, startMetering } from "../../../firmware/meter/metering";
import { Kind } from "../../../firmware/protocol/catalogue";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 16384, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 16 }] };
const REGS = { addr: 0, size: 4096 }, PROF = { addr: 4096, size: 8192 };
/** A 15-minute boundary. */
const T0 = 1699999200;

function start(flash: MockFlash) {
  const clock = new VirtualClock();
  const pulse = new MockPulseInput();
  const m = startMetering(Kind.ELECTRICITY, clock.scope(), pulse, recordLog(flash, REGS, 32, true, hostNative), recordLog(flash, PROF, 28, false, hostNative), []);
  /** `n` pulses over the next `s` seconds. */
  const pulses = (n: number, s: number) => { for (let k = 0; k < n; k++) { clock.advance((s * 1000) / n / 2); pulse.edge(clock.now()); clock.advance((s * 1000) / n / 2); } };
  return { m, clock, pulses };
}

describe("the load profile after an outage", () => {
  it("answers from the interval asked, the intervals of the outage MISSING, then the partial one after it", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    a.m.setTime(T0);
    a.pulses(30, 1800); // T0 and T0 + 900: 15 pulses each
    a.clock.advance(500); // the second interval closed
    expect(a.m.profile(T0 + 1, 40)).toEqual({ start: T0 + 900, period: 900, slots: [{ value: 15, status: 0 }] });
    a.pulses(5, 300); // 5 pulses in T0 + 1,800, then the power goes (that interval is lost)
    // back 1 h 10 min later, at T0 + 6,000: its clock set again, 9 pulses till T0 + 6,300
    const b = start(flash);
    b.m.setTime(T0 + 6000);
    b.pulses(9, 300);
    b.clock.advance(500);
    const p = b.m.profile(T0 + 900 + 1, 40)!;
    expect(p.start).toBe(T0 + 1800);
    // T0 + 1,800 to T0 + 4,500 MISSING; T0 + 5,400 the partial one the meter came back in (begun when its clock was set)
    expect(p.slots).toEqual([
      { value: 0, status: Iv.MISSING }, { value: 0, status: Iv.MISSING }, { value: 0, status: Iv.MISSING }, { value: 0, status: Iv.MISSING },
      { value: 9, status: Iv.CLOCK_ADJUSTED | Iv.PARTIAL },
    ]);
    // asked from inside the gap: from there; asked for fewer than the gap: not filled, from the
    // interval after it (a gap longer than an answer, an outage of days or a clock set far
    // ahead, would be filed as thousands of MISSING lines, 40 an answer: found by review)
    expect(b.m.profile(T0 + 2700 + 1, 40)!.start).toBe(T0 + 3600);
    expect(b.m.profile(T0 + 900 + 1, 4)).toEqual({ start: T0 + 5400, period: 900, slots: [{ value: 9, status: Iv.CLOCK_ADJUSTED | Iv.PARTIAL }] });
    // asked from its first interval on: as before
    expect(b.m.profile(1, 40)!.start).toBe(T0); // (from its first wall-clock interval on: as before)
  });

  it("leaves a gap longer than the answer unfilled, and never marks MISSING time an interval of another length covered", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    a.m.setTime(T0);
    a.pulses(4, 900);
    a.clock.advance(500);
    // back 20 hours later: 79 intervals missing, more than an answer's 40
    const b = start(flash);
    b.m.setTime(T0 + 72_000 + 60);
    b.pulses(3, 300);
    b.clock.advance(600_000); // past the interval it came back in
    const p = b.m.profile(T0 + 1, 40)!;
    expect([p.start, p.slots.length, p.slots[0].value]).toEqual([T0 + 72_000, 1, 3]);
    // an hour-long interval (key 2 = 3,600) then quarter hours: the hour is not MISSING
    const c = start(new MockFlash(g));
    c.m.setTime(T0);
    expect(c.m.setSetting(2, new Uint8Array([0x10, 0x0e]))).toBe(0); // 3,600 s
    c.pulses(6, 3600);
    c.clock.advance(500);
    expect(c.m.setSetting(2, new Uint8Array([0x84, 0x03]))).toBe(0); // 900 s
    c.pulses(2, 900);
    c.clock.advance(500);
    const q = c.m.profile(T0 + 1, 40)!;
    expect(q.start).toBeGreaterThanOrEqual(T0 + 3600);
    expect(q.slots.every((x) => !(x.status & Iv.MISSING))).toBe(true);
  });

  it("does not fill from intervals timed before the clock was set", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    a.pulses(10, 1800); // no clock: intervals at uptime 0 and 900 (CLOCK_NOT_SET)
    a.clock.advance(500);
    a.m.setTime(T0);
    a.pulses(10, 900);
    a.clock.advance(500);
    // the last uptime interval is the clock's set, at uptime 1,800; after it the wall-clock ones, nothing filled between
    expect(a.m.profile(901, 40)).toEqual({ start: 1800, period: 900, slots: [{ value: 0, status: expect.any(Number) }] });
    expect(a.m.profile(901, 40)!.slots[0].status & (Iv.CLOCK_NOT_SET | Iv.MISSING)).toBe(Iv.CLOCK_NOT_SET);
    const p = a.m.profile(1801, 40)!;
    expect(p.start).toBe(T0);
    expect(p.slots.map((x) => x.status & Iv.MISSING)).toEqual([0]);
  });
});
