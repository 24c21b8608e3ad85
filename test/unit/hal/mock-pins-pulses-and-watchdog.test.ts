import { describe, expect, it } from "vitest";
import { MockPin, MockPulseInput, MockWatchdog } from "../../../hal/mock/pins";
import { VirtualClock } from "../../../hal/mock/clock";

describe("mock pins, pulse input and watchdog", () => {
  it("a pin records its levels", () => {
    const p = new MockPin();
    p.set(true);
    p.set(false);
    expect(p.levels).toEqual([true, false]);
    expect(p.level).toBe(false);
    expect(() => p.set(1 as unknown as boolean)).toThrow();
  });

  it("the pulse input debounces contact bounce and loses edges while stopped", () => {
    const q = new MockPulseInput();
    const got: number[] = [];
    q.edge(5);
    q.start((t) => got.push(t), 20);
    for (const t of [100, 103, 110, 125, 200]) q.edge(t);
    expect(got).toEqual([100, 125, 200]);
    expect(q.rejected).toBe(2);
    expect(() => q.start(() => undefined, 20)).toThrow(/already started/);
    q.stop();
    q.edge(300);
    expect(got.length).toBe(3);
  });

  it("the watchdog expires when not kicked within its timeout", () => {
    const c = new VirtualClock();
    const w = new MockWatchdog(() => c.now());
    w.enable(2);
    c.advance(1500);
    w.kick();
    c.advance(1900);
    expect(w.expired()).toBe(false);
    c.advance(200);
    expect(w.expired()).toBe(true);
    expect(() => w.enable(5)).toThrow();
  });
});
