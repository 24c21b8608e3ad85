import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeMsg, newMsg } from "../../../firmware/protocol/codec";
import { forEachMissing } from "../../../firmware/protocol/missing";
import { st7580Framer } from "../../../firmware/link/st7580/frame";
import { transparentDeframer } from "../../../firmware/link/transparent/frame";
import { hostNative } from "../../../hal/mock/native";

const RUNS = 100_000;

/** Leaves (numbers, bytes) and containers a decoded body holds: its allocation, roughly. */
function allocated(v: unknown): number {
  if (v instanceof Uint8Array) return 1;
  if (Array.isArray(v)) return 1 + v.reduce((s: number, x) => s + allocated(x), 0);
  if (v && typeof v === "object") return 1 + Object.values(v).reduce((s: number, x) => s + allocated(x), 0);
  return 1;
}

describe(`decoders fed ${RUNS} random inputs each`, () => {
  it("the message decoder never throws and allocates no more than one value per input byte", () => {
    const m = newMsg();
    fc.assert(fc.property(
      fc.integer({ min: 0x10, max: 0x4b }), fc.uint8Array({ maxLength: 260 }), fc.boolean(),
      (type, bytes, sane) => {
        // half the inputs get a plausible header so the body decoders are reached
        if (sane && bytes.length > 10) { bytes[0] = 1; bytes[1] = type; bytes[9] %= 3; }
        const err = decodeMsg(bytes, bytes.length, m);
        expect(typeof err).toBe("number");
        if (err === 0) expect(allocated(m.body)).toBeLessThanOrEqual(bytes.length);
      }), { numRuns: RUNS });
  });

  it("the ST7580 framer never throws and keeps one buffer", () => {
    let events = 0, t = 0;
    const f = st7580Framer(() => { events++; });
    const buf = f.data;
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 30 }), (bytes, dt) => {
      f.feed(String.fromCharCode(...bytes), (t += dt));
      expect(f.data).toBe(buf);
    }), { numRuns: RUNS });
  });

  it("the transparent deframer never throws and keeps one buffer", () => {
    const f = transparentDeframer(242, hostNative.crc32, () => {});
    const buf = f.buf;
    let t = 0;
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 80 }), (bytes, dt) => {
      // bias towards the sync word so the length and body states are reached
      if (bytes.length > 3 && bytes[0] & 1) { bytes[0] = 0x2d; bytes[1] = 0xd4; }
      f.feed(String.fromCharCode(...bytes), (t += dt));
      expect(f.buf).toBe(buf);
    }), { numRuns: RUNS });
  });

  it("the missing-set reader never throws and names only blocks inside the image", () => {
    fc.assert(fc.property(
      fc.record({ received: fc.nat(0xffff), firstMissing: fc.nat(0xffff), form: fc.nat(3), base: fc.nat(0xffff), covers: fc.nat(0xffff), map: fc.uint8Array({ maxLength: 204 }) }),
      fc.integer({ min: 1, max: 4000 }),
      fc.boolean(),
      (r, count, plausible) => {
        if (plausible) {
          // a window inside the image, so the readers past the first checks are reached
          r.base = r.firstMissing = r.base % count;
          r.covers = 1 + (r.covers % (count - r.base));
          r.form = 1 + (r.form % 2);
          if (r.map.length) r.map[0] |= 0x80;
        }
        let calls = 0, outside = 0, last = -1, unordered = 0;
        const err = forEachMissing(r, count, (b) => { calls++; if (b < r.base || b >= r.base + r.covers || b >= count) outside++; if (b <= last) unordered++; last = b; });
        if (err) expect(calls).toBe(0);
        expect(outside).toBe(0);
        expect(unordered).toBe(0);
      }), { numRuns: RUNS });
  });
});
