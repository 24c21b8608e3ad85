/*
 * A concentrator sends under its own address, 0xFFFF0000 + its configuration's id (it used to
 * send as 0xFFFFFFFF, every concentrator alike), and a meter answers the address a request
 * came from, DISCOVER included: two concentrators on one line each hear only the answers to
 * their own requests (docs/protocol.md, header).
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor } from "../../bench/rig";
import { decodeMsg, newMsg } from "../../firmware/protocol/codec";
import { P, T } from "../../firmware/protocol/catalogue";

describe("two concentrators on one line", () => {
  it("send under 0xFFFF0000 + their ids; each one's readings and discovery answers reach it alone", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 19, { log: true }));
    bootMeter(rig, "m1001", 1001, { version: 1 });
    bootMeter(rig, "m1002", 1002, { version: 1 });
    const c1 = bootConcentrator(rig, "c1", [1001], undefined, { id: 1 });
    const c2 = bootConcentrator(rig, "c2", [1002], undefined, { id: 2 });
    rig.clock.advance(3000);
    let done1 = -1, done2 = -1;
    expect(c1.ctx.collect((n) => { done1 = n; })).toBe(0);
    expect(c2.ctx.collect((n) => { done2 = n; })).toBe(0);
    for (let t = 0; (done1 < 0 || done2 < 0) && t < 120; t++) rig.clock.advance(1000);
    expect([done1, done2]).toEqual([1, 1]);
    // each store holds its own meter's readings only
    expect(c1.lines.some((l) => l.includes("1001")) && !c1.lines.some((l) => l.includes("1002"))).toBe(true);
    expect(c2.lines.some((l) => l.includes("1002")) && !c2.lines.some((l) => l.includes("1001"))).toBe(true);
    // every frame either concentrator sent carries its own address; every meter's answer goes to one of them
    const frames = rig.line.log.map((f) => { const m = newMsg(); decodeMsg(f.bytes, f.bytes.length, m); return { from: f.from, m }; });
    for (const f of frames.filter((x) => x.from === "c1" || x.from === "c2")) expect(f.m.src).toBe(f.from === "c1" ? P.CONC_BASE + 1 : P.CONC_BASE + 2);
    for (const f of frames.filter((x) => x.from.startsWith("m"))) expect([P.CONC_BASE + 1, P.CONC_BASE + 2]).toContain(f.m.dst);
    // c1's discovery: both meters answer c1, and c2 registers nobody new (before: the answers went
    // to 0xFFFFFFFF, which every concentrator took for its own)
    let found = -1;
    expect(c1.ctx.discover({ slots: 4, slotMs: 200, rounds: 3 }, (n) => { found = n; })).toBe(0);
    for (let t = 0; found < 0 && t < 120; t++) rig.clock.advance(1000);
    expect(found).toBe(1);
    expect([c1.ctx.registry.find(1002) >= 0, c2.ctx.registry.find(1001)]).toEqual([true, -1]);
    const replies = frames.length;
    const after = rig.line.log.slice(replies).map((f) => { const m = newMsg(); decodeMsg(f.bytes, f.bytes.length, m); return m; }).filter((m) => m.type === T.DISCOVER_REPLY);
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(after.every((m) => m.mode === P.TO_METER && m.dst === P.CONC_BASE + 1)).toBe(true);
  });
});
