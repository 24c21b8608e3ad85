import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildReport, forEachMissing, setBit, type MissingReport } from "../../../firmware/protocol/missing";
import { decodeMsg, encodeMsg, newMsg } from "../../../firmware/protocol/codec";
import { byName, sampleMsg } from "../../harness/messages";

const FORM = { NONE: 0, BITMAP: 1, RANGES: 2 };

function gotFrom(count: number, missing: Set<number>): Uint8Array {
  const got = new Uint8Array((count + 7) >> 3);
  for (let i = 0; i < count; i++) if (!missing.has(i)) setBit(got, i);
  return got;
}

function report(count: number, missing: Set<number>, maxMap = 204): MissingReport {
  const r = { received: 0, firstMissing: 0, form: 0, base: 0, covers: 0, map: new Uint8Array(0) };
  buildReport(gotFrom(count, missing), count, maxMap, r);
  return r;
}

function named(r: MissingReport, count: number): number[] {
  const out: number[] = [];
  expect(forEachMissing(r, count, (b) => out.push(b))).toBe(0);
  return out;
}

/** Missing sets: sparse, bursty, dense. */
const missingArb = fc.integer({ min: 1, max: 3000 }).chain((count) =>
  fc.tuple(fc.constant(count), fc.oneof(
    fc.uniqueArray(fc.nat(count - 1), { maxLength: 60 }),
    fc.array(fc.tuple(fc.nat(count - 1), fc.integer({ min: 1, max: 40 })), { maxLength: 20 }).map((runs) => runs.flatMap(([s, n]) => Array.from({ length: n }, (_, i) => s + i).filter((x) => x < count))),
    fc.array(fc.boolean(), { minLength: count, maxLength: count }).map((bits) => bits.flatMap((b, i) => (b ? [i] : []))),
  )).map(([c, list]) => [c, new Set(list)] as const));

describe("status report missing set", () => {
  it("names exactly the missing blocks inside its window, says the first missing truly, and never names a received block", () => {
    fc.assert(fc.property(missingArb, ([count, missing]) => {
      const r = report(count, missing);
      const sorted = [...missing].sort((a, b) => a - b);
      expect(r.received).toBe(count - missing.size);
      expect(r.map.length).toBeLessThanOrEqual(204);
      if (!sorted.length) {
        expect(r.form).toBe(FORM.NONE);
        expect(r.firstMissing).toBe(0xffff);
        return;
      }
      expect(r.firstMissing).toBe(sorted[0]);
      expect(r.base).toBe(sorted[0]);
      const inWindow = sorted.filter((b) => b < r.base + r.covers);
      expect(named(r, count)).toEqual(inWindow);
      // a complete report when everything fits
      if (r.base + r.covers === count) expect(inWindow).toEqual(sorted);
    }), { numRuns: 3000 });
  });

  it("picks the shorter form when both fit", () => {
    const few = report(330, new Set([10, 11, 12, 300]));
    expect(few.form).toBe(FORM.RANGES);
    expect(few.map.length).toBe(8); // two ranges, where a bitmap would need 37 bytes
    const scattered = new Set(Array.from({ length: 330 }, (_, i) => i).filter((i) => i % 3 === 0));
    const many = report(330, scattered);
    expect(many.form).toBe(FORM.BITMAP);
    expect(many.map.length).toBe(Math.ceil((327 - 0 + 1) / 8));
    expect(many.covers).toBe(330);
  });

  it("when neither fits, sends the form that speaks for more blocks and says how many", () => {
    // every other block of 4000 missing: the bitmap covers 204*8 = 1632 blocks, ranges 51*2 = 102
    const alt = new Set(Array.from({ length: 2000 }, (_, i) => 2 * i));
    const r = report(4000, alt);
    expect(r.form).toBe(FORM.BITMAP);
    expect(r.covers).toBe(1632);
    expect(named(r, 4000)).toEqual([...alt].filter((b) => b < 1632));
    // two short bursts far apart in a big image: ranges cover everything, a bitmap could not
    const r2 = report(60000, new Set([5, 6, 59000]));
    expect(r2.form).toBe(FORM.RANGES);
    expect(r2.covers).toBe(60000 - 5);
  });

  it("travels in a STATUS_REPORT message and reads back the same", () => {
    const r = report(330, new Set([3, 4, 5, 100, 200, 201]));
    const m = sampleMsg(byName("STATUS_REPORT"), 1);
    m.body = { imageId: 7, state: 1, ...r };
    const out = new Uint8Array(242);
    const n = encodeMsg(m, out);
    const back = newMsg();
    expect(decodeMsg(out, n, back)).toBe(0);
    expect(named(back.body, 330)).toEqual([3, 4, 5, 100, 200, 201]);
  });

  it("fills every field of a body that holds only imageId and state, as the meter builds its STATUS_REPORT, and it encodes", () => {
    // nothing missing (count 0 too), a few, a window the ranges cannot cover, the largest image
    const cases: [number, Set<number>][] = [[0, new Set()], [5, new Set()], [330, new Set([3, 4, 5, 100])], [4000, new Set(Array.from({ length: 2000 }, (_, i) => 2 * i))], [60000, new Set([59999])]];
    for (const [count, missing] of cases) {
      const body: any = { imageId: 7, state: 1 };
      buildReport(gotFrom(count, missing), count, 204, body);
      expect(Object.keys(body).sort(), `count ${count}`).toEqual(["base", "covers", "firstMissing", "form", "imageId", "map", "received", "state"]);
      expect(body.received).toBe(count - missing.size);
      expect(body.map).toBeInstanceOf(Uint8Array);
      const m = sampleMsg(byName("STATUS_REPORT"), 1);
      m.body = body;
      const out = new Uint8Array(242);
      expect(encodeMsg(m, out), `count ${count} encodes`).toBeGreaterThan(0);
    }
  });

  it("refuses reports that contradict themselves or the image", () => {
    const ok = report(100, new Set([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 90]));
    expect(ok.form).toBe(FORM.RANGES);
    expect(forEachMissing({ ...ok, covers: 200 }, 100, () => {})).toBe(63);
    expect(forEachMissing({ ...ok, firstMissing: 9 }, 100, () => {})).toBe(63);
    expect(forEachMissing({ ...ok, map: ok.map.subarray(0, 3) }, 100, () => {})).toBe(63);
    expect(forEachMissing({ ...ok, form: 7 }, 100, () => {})).toBe(63);
    const bm = report(100, new Set(Array.from({ length: 30 }, (_, i) => i * 3)));
    expect(bm.form).toBe(FORM.BITMAP);
    expect(forEachMissing({ ...bm, covers: 10 }, 100, () => {})).toBe(63); // names a block past its window
    const none = report(100, new Set());
    expect(forEachMissing({ ...none, firstMissing: 0 }, 100, () => {})).toBe(63);
  });
});
