import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockPulseInput } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { startMetering } from "../../../firmware/meter/metering";

const g = { base: 0, size: 8192, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 8 }] };

describe("the load profile when the concentrator sets the meter's clock", () => {
  it("keeps every pulse: those before the set in a closed interval, those after in intervals on the wall clock's boundaries", () => {
    const clock = new VirtualClock();
    const flash = new MockFlash(g);
    const pulse = new MockPulseInput();
    const m = startMetering(1, clock.scope(), pulse, recordLog(flash, { addr: 0, size: 2048 }, 32, true, hostNative), recordLog(flash, { addr: 2048, size: 4096 }, 28, false, hostNative), []);
    const pulses = (n: number) => { for (let i = 0; i < n; i++) { clock.advance(1000); pulse.edge(clock.now()); } };
    pulses(7); // on the uptime clock, before anyone set the time
    const DAY = 1_795_478_400;
    m.setTime(DAY + 4);
    pulses(10);
    clock.advance(900_000); // past the first wall-clock boundary
    pulses(3);
    clock.advance(900_000);
    // the interval the clock was set in: its pulses, flagged as before a clock (32) adjusted (2)
    const early = m.profile(0, 40)!;
    expect(early.start).toBe(0);
    expect(early.slots[0]).toEqual({ value: 7, status: 32 | 2 | 8 | 4 });
    // from the wall clock on: [DAY, DAY+900) holds the 10, the next the 3; nothing is lost
    const p = m.profile(1, 40)!;
    expect(p.start).toBe(DAY);
    expect(p.slots.map((x) => x.value)).toEqual([10, 3]);
    expect(p.slots[0].status & 2).toBe(2);
    expect(p.slots[1].status).toBe(0);
    expect(7 + 10 + 3).toBe(m.pulses());
  });

  it("a small correction inside the same interval only flags it", () => {
    const clock = new VirtualClock();
    const flash = new MockFlash(g);
    const pulse = new MockPulseInput();
    const m = startMetering(1, clock.scope(), pulse, recordLog(flash, { addr: 0, size: 2048 }, 32, true, hostNative), recordLog(flash, { addr: 2048, size: 4096 }, 28, false, hostNative), []);
    const DAY = 1_795_478_400;
    m.setTime(DAY + 100);
    clock.advance(900_000);
    clock.advance(60_000);
    pulse.edge(clock.now());
    m.setTime(DAY + 900 + 62); // 2 s of drift, same interval
    clock.advance(900_000);
    const p = m.profile(DAY + 900, 40)!;
    expect(p.start).toBe(DAY + 900);
    expect(p.slots[0]).toEqual({ value: 1, status: 2 });
  });
});
