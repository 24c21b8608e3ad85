import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";

describe("virtual clock", () => {
  it("runs due timers in due-time order, ties in the order set, at their due time", () => {
    const c = new VirtualClock(1000);
    const log: string[] = [];
    c.setTimeout(() => log.push(`b@${c.now()}`), 20);
    c.setTimeout(() => log.push(`a@${c.now()}`), 10);
    c.setTimeout(() => log.push(`c@${c.now()}`), 20);
    c.advance(15);
    expect(log).toEqual(["a@1010"]);
    expect(c.now()).toBe(1015);
    c.advance(100);
    expect(log).toEqual(["a@1010", "b@1020", "c@1020"]);
    expect(c.now()).toBe(1115);
  });

  it("intervals repeat, clear stops them, and timers set while advancing run in the same advance", () => {
    const c = new VirtualClock();
    const ticks: number[] = [];
    const id = c.setInterval(() => ticks.push(c.now()), 100);
    c.setTimeout(() => c.setTimeout(() => ticks.push(-c.now()), 5), 250);
    c.advance(350);
    expect(ticks).toEqual([100, 200, 300, -255].sort((a, b) => Math.abs(a) - Math.abs(b)));
    c.clear(id);
    c.advance(1000);
    expect(ticks.length).toBe(4);
    expect(c.pending).toBe(0);
  });

  it("is deterministic and refuses bad arguments", () => {
    const run = () => {
      const c = new VirtualClock();
      const out: number[] = [];
      for (let i = 0; i < 20; i++) c.setTimeout(() => out.push(i), (i * 7) % 5);
      c.advance(10);
      return out;
    };
    expect(run()).toEqual(run());
    expect(run()).toEqual([0, 5, 10, 15, 3, 8, 13, 18, 1, 6, 11, 16, 4, 9, 14, 19, 2, 7, 12, 17]);
    const c = new VirtualClock();
    expect(() => c.advance(-1)).toThrow();
    expect(() => c.setInterval(() => undefined, 0)).toThrow();
  });
});
