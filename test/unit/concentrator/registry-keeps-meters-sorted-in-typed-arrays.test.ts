import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { registry } from "../../../firmware/concentrator/registry";
import { Id, P } from "../../../firmware/protocol/catalogue";

describe("the meter registry", () => {
  it("finds every meter it took, in any insertion order, and refuses past its capacity", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: Id.MAX_METER }), { maxLength: 60 }), (ids) => {
      const r = registry(50);
      for (const id of ids) {
        const i = r.add(id, 1);
        if (r.count() === 50 && i < 0) expect(i).toBe(-127);
      }
      const kept = ids.slice(0, 50);
      expect(r.count()).toBe(kept.length);
      for (const id of kept) expect(r.id(r.find(id))).toBe(id);
      for (let i = 1; i < r.count(); i++) expect(r.id(i)).toBeGreaterThan(r.id(i - 1));
    }));
  });

  it("takes meter ids from 1 to Id.MAX_METER and refuses a concentrator's address", () => {
    const r = registry(4);
    expect(r.add(Id.MAX_METER, 1)).toBe(0);
    expect(r.add(P.CONC_BASE, 1)).toBe(-1);
    expect(r.add(P.CONC_BASE + 7, 2)).toBe(-1);
    expect(r.add(0, 1)).toBe(-1);
    expect(r.count()).toBe(1);
  });

  it("keeps statistics and information with the meter when others are inserted before it", () => {
    const r = registry(10);
    const i = r.add(500, 1);
    r.setInfo(i, 2, 7);
    r.note(i, true, 33, 1000);
    r.note(i, false, 0, 1010);
    r.add(100, 2);
    r.add(200, 2);
    const j = r.find(500);
    expect(j).toBe(2);
    expect([r.kind(j), r.version(j), r.flags(j)]).toEqual([2, 7, 1]);
    expect(r.stats(j)).toEqual({ ok: 1, fail: 1, lastSeen: 1000, quality: 33 });
    expect(r.add(500, 2)).toBe(2);
    expect(r.flags(2)).toBe(3);
    expect(r.add(0, 1)).toBe(-1);
    expect(r.add(0xffffffff, 1)).toBe(-1);
    expect(r.find(999)).toBe(-1);
  });
});
