import { describe, expect, it } from "vitest";
import { MockFlash, FlashRuleError } from "../../../hal/mock/flash";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0x1000, size: 4096, writeAlign: 4, eraseUnits: [{ addr: 0x1000, size: 1024, count: 4 }] };
const bytes = (...b: number[]) => Uint8Array.from(b);

describe("mock flash keeps NOR rules", () => {
  it("starts erased and erase sets a whole unit to 0xFF", () => {
    const f = new MockFlash(g);
    expect([...f.read(0x1000, 8)]).toEqual(Array(8).fill(0xff));
    f.write(0x1400, bytes(1, 2, 3, 4));
    f.erase(0x1400);
    expect([...f.read(0x1400, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(f.counts.erases).toBe(1);
  });

  it("a write only clears bits: setting a bit throws and changes nothing", () => {
    // content as left by an earlier life of the chip: bits cleared, words not flagged
    const f = new MockFlash(g, new Uint8Array(8).fill(0x0f));
    expect(() => f.write(0x1000, bytes(0xf0, 0x0f, 0x0f, 0x0f))).toThrow(/would set bits/);
    expect([...f.read(0x1000, 4)]).toEqual([0x0f, 0x0f, 0x0f, 0x0f]);
    f.write(0x1004, bytes(0x0e, 0x0c, 0x08, 0x00)); // clearing only: allowed, result is old AND new
    expect([...f.read(0x1004, 4)]).toEqual([0x0e, 0x0c, 0x08, 0x00]);
    expect(f.counts.writes).toBe(1);
  });

  it("each aligned word is programmed at most once between erases", () => {
    const f = new MockFlash(g);
    f.write(0x1000, bytes(0xff, 0xff, 0xff, 0xfe));
    // clearing more bits would be legal on plain NOR, but a second program of the word is refused
    expect(() => f.write(0x1000, bytes(0x00, 0xff, 0xff, 0xfe))).toThrow(/programmed twice/);
    f.erase(0x1000);
    f.write(0x1000, bytes(0x00, 0xff, 0xff, 0xfe));
    expect(f.read(0x1000, 1)[0]).toBe(0);
  });

  it("writes must be whole aligned words", () => {
    const f = new MockFlash(g);
    expect(() => f.write(0x1002, bytes(1, 2, 3, 4))).toThrow(/not whole 4-byte words/);
    expect(() => f.write(0x1000, bytes(1, 2, 3))).toThrow(/not whole 4-byte words/);
    expect(f.counts.writes).toBe(0);
  });

  it("erase takes the start of an erase unit and accesses stay inside the chip", () => {
    const f = new MockFlash(g);
    expect(() => f.erase(0x1004)).toThrow(/not the start of an erase unit/);
    expect(() => f.read(0x2000, 1)).toThrow(/outside flash/);
    expect(() => f.write(0xffc, bytes(0, 0, 0, 0))).toThrow(/outside flash/);
  });

  it("mixed sector geometry: erase of a 64 KiB sector clears all of it and only it", () => {
    const f4: FlashGeometry = {
      base: 0x08000000, size: 0x40000, writeAlign: 4,
      eraseUnits: [{ addr: 0x08000000, size: 0x4000, count: 4 }, { addr: 0x08010000, size: 0x10000, count: 1 }, { addr: 0x08020000, size: 0x20000, count: 1 }],
    };
    const f = new MockFlash(f4);
    f.write(0x0800fffc, bytes(0, 0, 0, 0));
    f.write(0x0801fffc, bytes(0, 0, 0, 0));
    f.write(0x08020000, bytes(0, 0, 0, 0));
    expect(() => f.erase(0x08018000)).toThrow(/not the start/);
    f.erase(0x08010000);
    expect([...f.read(0x0801fffc, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect([...f.read(0x0800fffc, 4)]).toEqual([0, 0, 0, 0]);
    expect([...f.read(0x08020000, 4)]).toEqual([0, 0, 0, 0]);
  });
});
