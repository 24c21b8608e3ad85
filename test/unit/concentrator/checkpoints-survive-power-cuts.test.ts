import { describe, expect, it } from "vitest";
import { MockFlash, PowerCut } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { checkpoints } from "../../../firmware/concentrator/checkpoint";

const g = { base: 0, size: 16384, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 16 }] };
const region = { addr: 4096, size: 8192 };
const body = (v: number, n = 200) => Uint8Array.from({ length: n }, (_, i) => (v + i) & 0xff);

describe("campaign checkpoints", () => {
  it("load the newest snapshot, also after reopening, and refuse oversize or unaligned ones", () => {
    const f = new MockFlash(g);
    const c = checkpoints(f, region, hostNative);
    expect(c.capacity).toBe(4096 - 16);
    expect(c.load()).toBeNull();
    c.save(body(1));
    c.save(body(2));
    c.save(body(3, 400));
    expect([...checkpoints(f, region, hostNative).load()!]).toEqual([...body(3, 400)]);
    const ops = f.ops;
    expect(c.save(new Uint8Array(4096))).toBe(35);
    expect(c.save(new Uint8Array(6))).toBe(1);
    expect(f.ops).toBe(ops);
  });

  it("after a cut at any flash operation of a save, load the previous or the new snapshot, never a mix", () => {
    const ref = new MockFlash(g);
    checkpoints(ref, region, hostNative).save(body(1, 3000));
    const before = ref.ops;
    checkpoints(ref, region, hostNative).save(body(2, 3000));
    const ops = ref.ops - before;
    for (let k = 0; k < ops; k++) {
      for (const mode of ["before", "after", "torn", "half-erase"] as const) {
        const f = new MockFlash(g);
        checkpoints(f, region, hostNative).save(body(1, 3000));
        f.planCut({ op: f.ops + k, mode, fraction: 0.5 });
        try { checkpoints(f, region, hostNative).save(body(2, 3000)); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
        f.reboot();
        const got = [...checkpoints(f, region, hostNative).load()!];
        const ok = JSON.stringify(got) === JSON.stringify([...body(1, 3000)]) || JSON.stringify(got) === JSON.stringify([...body(2, 3000)]);
        expect(ok, `cut ${mode} at op ${k}`).toBe(true);
      }
    }
  });
});
