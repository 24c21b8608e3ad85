import { describe, expect, it } from "vitest";
import { MockFlash, PowerCut } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 4096, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 4 }] };
const region = { addr: 1024, size: 2048 };
const u32 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
const val = (b: Uint8Array | null) => (b ? (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0 : null);

describe("record log", () => {
  it("returns the latest payload per type, also after reopening", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, true, hostNative);
    expect(log.capacity).toBe(20);
    expect(log.read(1)).toBeNull();
    log.append(1, u32(5));
    log.append(2, Uint8Array.of(9, 9, 9));
    log.append(1, u32(6));
    expect(val(log.read(1))).toBe(6);
    const again = recordLog(f, region, 32, true, hostNative);
    expect(val(again.read(1))).toBe(6);
    expect([...again.read(2)!]).toEqual([9, 9, 9]);
    again.append(1, u32(7));
    expect(val(recordLog(f, region, 32, true, hostNative).read(1))).toBe(7);
  });

  it("refuses a payload longer than its slots and a type out of range, storing nothing", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, true, hostNative);
    expect(log.append(1, new Uint8Array(21))).toBe(35);
    expect(log.append(8, u32(1))).toBe(1);
    expect(f.ops).toBe(0);
  });

  it("carries every type's last value forward while rotating through its units, writing only inside its region", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, true, hostNative);
    log.append(3, u32(333));
    log.append(4, u32(444));
    for (let i = 0; i < 1000; i++) log.append(1, u32(i));
    expect(log.stats.erases).toBeGreaterThan(25);
    const again = recordLog(f, region, 32, true, hostNative);
    expect(val(again.read(1))).toBe(999);
    expect(val(again.read(3))).toBe(333);
    expect(val(again.read(4))).toBe(444);
    // outside the region nothing was touched
    expect([...f.read(0, 1024)].every((b) => b === 0xff)).toBe(true);
    expect([...f.read(3072, 1024)].every((b) => b === 0xff)).toBe(true);
  });

  it("without carry is a ring: keeps the newest records, oldest first", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, false, hostNative);
    for (let i = 0; i < 200; i++) log.append(1, u32(i));
    const seen: number[] = [];
    recordLog(f, region, 32, false, hostNative).forEach((_t, _s, p) => seen.push(val(p)!));
    // 2 units of 32 slots: after 200 records the last 8 fill the head, the other unit holds 32 before them
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => 160 + i));
  });

  it("a cut during the very first record leaves that slot used: the next append goes to the next slot, never over the torn one", () => {
    // found by the coded download's power-cut sweep: with no complete record the log started
    // writing at slot 0 again, programming a torn word twice (refused by STM32F1 and ECC flash)
    for (const mode of ["torn", "after"] as const) {
      const f = new MockFlash(g);
      f.planCut({ op: 0, mode, fraction: 0.5 });
      expect(() => recordLog(f, region, 32, true, hostNative).append(1, u32(5))).toThrow(PowerCut);
      f.reboot();
      const log = recordLog(f, region, 32, true, hostNative);
      expect(() => log.append(1, u32(6))).not.toThrow();
      expect(val(recordLog(f, region, 32, true, hostNative).read(1))).toBe(6);
    }
  });

  it("after a power cut at any flash operation, reads the last committed or the in-flight value, and carries on", () => {
    for (let cut = 0; cut < 140; cut++) {
      for (const mode of ["before", "after", "torn", "half-erase"] as const) {
        const f = new MockFlash(g);
        let log = recordLog(f, region, 32, true, hostNative);
        log.append(2, u32(77));
        f.planCut({ op: cut + 1, mode, fraction: 0.5 });
        let committed = 0, inFlight = 0;
        try {
          for (let i = 1; i <= 100; i++) { inFlight = i; log.append(1, u32(i)); committed = i; }
        } catch (e) {
          expect(e).toBeInstanceOf(PowerCut);
        }
        f.reboot();
        log = recordLog(f, region, 32, true, hostNative);
        const v = val(log.read(1)) ?? 0;
        expect(v === committed || v === inFlight, `cut ${cut} ${mode}: read ${v}, committed ${committed}`).toBe(true);
        expect(val(log.read(2)), `cut ${cut} ${mode}: type 2 lost`).toBe(77);
        log.append(1, u32(500));
        expect(val(recordLog(f, region, 32, true, hostNative).read(1))).toBe(500);
      }
    }
  });
});
