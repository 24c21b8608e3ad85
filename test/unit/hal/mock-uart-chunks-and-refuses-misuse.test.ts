import { describe, expect, it } from "vitest";
import { MockUart, UartMisuse } from "../../../hal/mock/uart";
import { VirtualClock } from "../../../hal/mock/clock";

describe("mock UART", () => {
  it("delivers injected bytes in order, cut into chunks of 1..max bytes", () => {
    const u = new MockUart({ kind: "random", max: 5, seed: 42 });
    const got: string[] = [];
    u.onData((c) => got.push(c));
    const frame = "\x02\x02\x50\x04\xab\x01\x01" + "hello world";
    const sizes = u.inject(frame);
    expect(got.join("")).toBe(frame);
    expect(sizes.every((n) => n >= 1 && n <= 5)).toBe(true);
    expect(sizes.length).toBeGreaterThan(3);
    // the same seed cuts the same way
    const u2 = new MockUart({ kind: "random", max: 5, seed: 42 });
    u2.onData(() => undefined);
    expect(u2.inject(frame)).toEqual(sizes);
  });

  it("paced, spreads the chunks of an injection over virtual time with gaps up to the maximum, in order across injections", () => {
    const clock = new VirtualClock();
    const u = new MockUart({ kind: "random", max: 4, seed: 3 });
    u.pace(clock, 100, 9);
    const got: { t: number; c: string }[] = [];
    u.onData((c) => got.push({ t: clock.now(), c }));
    const a = "0123456789abcdefghij", b = "KLMNOPQRSTUVWXYZ";
    const sizes = u.inject(a);
    u.inject(b); // queued behind the first
    expect(got).toEqual([]); // paced chunks come only as the clock runs
    clock.advance(10_000);
    expect(got.map((g) => g.c).join("")).toBe(a + b);
    const gaps = got.slice(1).map((g, i) => g.t - got[i].t);
    expect(gaps.every((g) => g >= 0 && g <= 100)).toBe(true);
    expect(Math.max(...gaps)).toBeGreaterThan(50);
    expect(got[sizes.length - 1].t).toBeGreaterThan(0);
  });

  it("byte-at-a-time and whole-frame delivery", () => {
    const one = new MockUart({ kind: "fixed", size: 1 });
    const got: string[] = [];
    one.onData((c) => got.push(c));
    one.inject(Uint8Array.from([1, 2, 255]));
    expect(got).toEqual(["\x01", "\x02", "\xff"]);
    const whole = new MockUart();
    const w: string[] = [];
    whole.onData((c) => w.push(c));
    whole.inject("abc");
    expect(w).toEqual(["abc"]);
  });

  it("records writes and hands them to an attached line", () => {
    const u = new MockUart();
    const seen: string[] = [];
    u.onWrite = (d) => seen.push(d);
    u.setup(57600);
    u.write("\x06");
    u.write("ab");
    expect(u.writes).toEqual(["\x06", "ab"]);
    expect(u.written()).toBe("\x06ab");
    expect(seen).toEqual(["\x06", "ab"]);
  });

  it("throws on misuse of the contract", () => {
    const u = new MockUart();
    expect(() => u.write("x")).toThrow(UartMisuse); // before setup
    expect(() => u.inject("x")).toThrow(/no listener/);
    u.setup(9600);
    expect(() => u.setup(9600)).toThrow(/twice/);
    expect(() => u.write("\u0100")).toThrow(/not a byte/);
    expect(() => u.write(new Uint8Array(1) as unknown as string)).toThrow(/takes a string/);
    u.onData(() => undefined);
    expect(() => u.onData(() => undefined)).toThrow(/already registered/);
    expect(u.writes).toEqual([]);
  });
});
