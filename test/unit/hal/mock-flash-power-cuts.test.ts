import { describe, expect, it } from "vitest";
import { MockFlash, PowerCut } from "../../../hal/mock/flash";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 2048, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 2 }] };
const data = Uint8Array.from({ length: 16 }, (_, i) => i);

function primed(): MockFlash {
  const f = new MockFlash(g);
  f.write(0, new Uint8Array(16)); // op 0: zeros in unit 0
  return f;
}

describe("mock flash power cuts", () => {
  it("cut before operation k: the operation does not happen", () => {
    const f = primed();
    f.planCut({ op: 1, mode: "before" });
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    f.reboot();
    expect([...f.read(1024, 16)]).toEqual(Array(16).fill(0xff));
  });

  it("cut after operation k: the operation completes, then the power goes", () => {
    const f = primed();
    f.planCut({ op: 1, mode: "after" });
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    f.reboot();
    expect([...f.read(1024, 16)]).toEqual([...data]);
  });

  it("after a cut nothing reaches the flash until reboot", () => {
    const f = primed();
    f.planCut({ op: 1, mode: "after" });
    expect(() => f.erase(0)).toThrow(PowerCut);
    expect(f.powerLost).toBe(true);
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    expect(() => f.read(0, 4)).toThrow(PowerCut);
    f.reboot();
    expect(f.powerLost).toBe(false);
    expect([...f.read(1024, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(f.ops).toBe(2);
  });

  it("torn write: only the first part is programmed and the next byte only partly", () => {
    const f = new MockFlash(g);
    const ones = new Uint8Array(16).fill(0);
    f.planCut({ op: 0, mode: "torn", fraction: 0.25 });
    expect(() => f.write(0, ones)).toThrow(PowerCut);
    f.reboot();
    const b = f.read(0, 16);
    expect([...b.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(b[4]).toBe(0x0f); // high bits cleared, low bits not yet
    expect([...b.subarray(5)]).toEqual(Array(11).fill(0xff));
    // the torn word cannot be programmed again without an erase, as on a real chip
    expect(() => f.write(4, new Uint8Array(4))).toThrow(/programmed twice/);
    // words the write never reached are still writable
    f.write(8, new Uint8Array(4));
  });

  it("half-erased page: part of the unit is erased, the rest keeps its old bytes", () => {
    const f = new MockFlash(g);
    f.write(0, new Uint8Array(1024));
    f.planCut({ op: 1, mode: "half-erase", fraction: 0.5 });
    expect(() => f.erase(0)).toThrow(PowerCut);
    f.reboot();
    expect(f.read(0, 512).every((x) => x === 0xff)).toBe(true);
    expect(f.read(512, 512).every((x) => x === 0)).toBe(true);
    // the erased half is writable again, the other half is not
    f.write(0, new Uint8Array(4));
    expect(() => f.write(512, new Uint8Array(4))).toThrow(/programmed twice|set bits/);
  });

  it("operations are counted over the flash's life and a plan strikes once", () => {
    const f = new MockFlash(g);
    f.recordLog = true;
    f.erase(0);
    f.write(0, data);
    f.erase(1024);
    expect(f.ops).toBe(3);
    expect(f.log.map((o) => o.kind)).toEqual(["erase", "write", "erase"]);
    f.planCut({ op: 3, mode: "before" });
    expect(() => f.write(1024, data)).toThrow(PowerCut);
    f.reboot();
    f.write(1024, data); // the spent plan does not strike again
    expect(f.ops).toBe(5);
  });
});
