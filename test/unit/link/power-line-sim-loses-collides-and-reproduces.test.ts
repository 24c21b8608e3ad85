import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { PowerLine, type LineOptions } from "../../../hal/mock/powerline";

function setup(opts: Partial<LineOptions> = {}, names = ["a", "b", "c"]) {
  const clock = new VirtualClock();
  const line = new PowerLine(clock, { bitRate: 9600, overheadBytes: 10, turnaroundMs: 5, seed: 42, ...opts });
  const got: Record<string, { at: number; bytes: number[]; corrupted: boolean }[]> = {};
  for (const n of names) { got[n] = []; line.attach(n, (b, _snr, bad) => got[n].push({ at: clock.now(), bytes: [...b], corrupted: bad })); }
  return { clock, line, got };
}

/** Sends `n` frames a -> b spaced apart; returns b's loss pattern (true = lost). */
function pattern(opts: Partial<LineOptions>, n: number): boolean[] {
  const { clock, line, got } = setup(opts, ["a", "b"]);
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const before = got.b.length;
    line.node("a").transmit(Uint8Array.of(i & 0xff));
    clock.advance(50);
    out.push(got.b.length === before);
  }
  return out;
}

describe("simulated power line", () => {
  it("delivers a frame to every other node at the end of its airtime and counts it", () => {
    const { clock, line, got } = setup();
    const air = line.node("a").transmit(new Uint8Array(110));
    expect(air).toBeCloseTo((120 * 8 * 1000) / 9600, 9); // 100 ms
    clock.advance(99);
    expect(got.b.length).toBe(0);
    clock.advance(1);
    expect(got.b.length).toBe(1);
    expect(got.c.length).toBe(1);
    expect(got.a.length).toBe(0);
    expect(line.node("a").counters).toMatchObject({ txFrames: 1, txBytes: 110, airtimeMs: 100 });
    expect(line.node("b").counters.rxFrames).toBe(1);
  });

  it("loses overlapping transmissions to a collision, for everyone", () => {
    const { clock, line, got } = setup();
    line.node("a").transmit(new Uint8Array(50));
    clock.advance(20);
    expect(line.busy()).toBe(true);
    line.node("b").transmit(new Uint8Array(50));
    clock.advance(200);
    expect(got.c.length).toBe(0);
    expect(line.node("c").counters.rxCollided).toBe(2);
    expect(line.busy()).toBe(false);
  });

  it("is half duplex: a node misses frames while it sends and during its turnaround", () => {
    const { clock, line, got } = setup({ turnaroundMs: 5 });
    const air = line.node("a").transmit(new Uint8Array(10)); // 16.7 ms
    clock.advance(air + 2); // a is still turning around
    line.node("b").transmit(new Uint8Array(10));
    clock.advance(100);
    expect(got.a.length).toBe(0);
    expect(line.node("a").counters.rxMissedBusy).toBe(1);
    line.node("b").transmit(new Uint8Array(10));
    clock.advance(100);
    expect(got.a.length).toBe(1);
  });

  it("reproduces the same losses for a seed and different ones for another", () => {
    const model = { defaults: { loss: 0.3 } };
    const a = pattern({ ...model, seed: 5 }, 300);
    expect(pattern({ ...model, seed: 5 }, 300)).toEqual(a);
    expect(pattern({ ...model, seed: 6 }, 300)).not.toEqual(a);
  });

  it("loses independently at the set probability", () => {
    const p = pattern({ defaults: { loss: 0.3 } }, 5000);
    const rate = p.filter(Boolean).length / p.length;
    expect(rate).toBeGreaterThan(0.27);
    expect(rate).toBeLessThan(0.33);
  });

  it("loses in bursts under Gilbert-Elliott, with the mean burst length the chain implies", () => {
    const ge = { pGoodToBad: 0.02, pBadToGood: 0.2, lossGood: 0, lossBad: 1 };
    const p = pattern({ defaults: { ge } }, 20000);
    const bursts: number[] = [];
    let run = 0;
    for (const lost of [...p, false]) { if (lost) run++; else if (run) { bursts.push(run); run = 0; } }
    const mean = bursts.reduce((s, x) => s + x, 0) / bursts.length;
    expect(mean).toBeGreaterThan(4); // 1 / pBadToGood = 5
    expect(mean).toBeLessThan(6);
    const rate = p.filter(Boolean).length / p.length; // stationary: 0.02 / 0.22 = 9.1%
    expect(rate).toBeGreaterThan(0.07);
    expect(rate).toBeLessThan(0.11);
  });

  it("flips bits at the set error rate and marks the frame corrupted", () => {
    const { clock, line, got } = setup({ defaults: { ber: 1e-3 } }, ["a", "b"]);
    for (let i = 0; i < 500; i++) { line.node("a").transmit(new Uint8Array(100)); clock.advance(200); }
    const flipped = got.b.reduce((s, f) => s + f.bytes.reduce((t, x) => t + x.toString(2).split("1").length - 1, 0), 0);
    expect(flipped / (500 * 800)).toBeGreaterThan(0.0008); // expected 1e-3
    expect(flipped / (500 * 800)).toBeLessThan(0.0012);
    expect(got.b.every((f) => f.corrupted === f.bytes.some((x) => x !== 0))).toBe(true);
    expect(line.node("b").counters.rxCorrupted).toBe(got.b.filter((f) => f.corrupted).length);
  });

  it("applies a link's own model in the direction it was set", () => {
    const { clock, line, got } = setup();
    line.link("a", "b", { loss: 1 }, true);
    line.node("a").transmit(Uint8Array.of(1));
    clock.advance(100);
    line.node("b").transmit(Uint8Array.of(2));
    clock.advance(100);
    expect(got.b.length).toBe(0);
    expect(got.c.length).toBe(2);
    expect(got.a.map((f) => f.bytes)).toEqual([[2]]);
  });
});
