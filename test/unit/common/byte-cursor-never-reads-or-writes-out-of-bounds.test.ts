import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { cursor, getBytes, getU16, getU32, getU8, putBytes, putU16, putU32, putU8, remaining, reset } from "../../../firmware/common/cursor";

const TRUNCATED = 3, TOO_LONG = 4; // Err values (const enum)

describe("byte cursor", () => {
  it("reads little-endian values and views without copying", () => {
    const b = Uint8Array.from([1, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 9, 8]);
    const c = cursor(b, 0, b.length);
    expect(getU8(c)).toBe(1);
    expect(getU16(c)).toBe(0x1234);
    expect(getU32(c)).toBe(0x12345678);
    const v = getBytes(c, 2);
    expect([...v]).toEqual([9, 8]);
    expect(v.buffer).toBe(b.buffer);
    expect(remaining(c)).toBe(0);
    expect(c.err).toBe(0);
  });

  it("a read past the end sets a sticky TRUNCATED, returns 0 and moves nothing", () => {
    const c = cursor(Uint8Array.from([0xff, 0xff, 0xff]), 0, 3);
    expect(getU32(c)).toBe(0);
    expect(c.err).toBe(TRUNCATED);
    expect(getU8(c)).toBe(0); // sticky: even a byte that exists is not read
    expect(c.pos).toBe(0);
    expect(getBytes(c, 1).length).toBe(0);
  });

  it("a write past the capacity sets TOO_LONG and leaves the buffer untouched beyond it", () => {
    const b = new Uint8Array(6);
    const c = cursor(b, 0, 5);
    putU32(c, 0xdeadbeef);
    putU16(c, 0xffff);
    expect(c.err).toBe(TOO_LONG);
    putU8(c, 7);
    putBytes(c, Uint8Array.from([1]));
    expect([...b]).toEqual([0xef, 0xbe, 0xad, 0xde, 0, 0]);
    reset(c, b, 4, 6);
    putU16(c, 0x0102);
    expect(c.err).toBe(0);
    expect([...b.subarray(4)]).toEqual([2, 1]);
  });

  it("property: any sequence of reads on any input stays in bounds and never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 40 }), (buf, ops) => {
        const c = cursor(buf, 0, buf.length);
        for (const op of ops) {
          if (op === 0) getU8(c);
          else if (op === 1) getU16(c);
          else if (op === 2) getU32(c);
          else getBytes(c, 5);
          expect(c.pos).toBeLessThanOrEqual(buf.length);
        }
        expect([0, TRUNCATED]).toContain(c.err);
      }),
      { numRuns: 2000 },
    );
  });
});
