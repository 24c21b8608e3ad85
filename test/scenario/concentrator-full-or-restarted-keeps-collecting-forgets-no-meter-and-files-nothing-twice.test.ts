/*
 * The hardening issue's findings 7 and 8 on the concentrator program: a Storage that
 * refuses an append never stops collection or updates; a restart neither forgets the
 * meters discovery found (and their groups) nor files a load-profile interval twice; and
 * the registry file survives a power cut at every one of its Storage operations.
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
import { Err } from "../../firmware/common/errors";
import { registry, Rf } from "../../firmware/concentrator/registry";
import { meterFile, METER_FILES, COMPACT_SLACK } from "../../firmware/concentrator/meter-file";
import { MockStorage } from "../../hal/mock/storage";
import { PowerCut } from "../../hal/mock/flash";

function round(rig: LinkRig, conc: ConcNode, what?: number): [number, number] | null {
  let res: [number, number] | null = null;
  expect(conc.ctx.collect((c, x) => { res = [c, x]; }, undefined, what)).toBe(0);
  const end = rig.clock.now() + 600_000;
  while (!res && rig.clock.now() < end) rig.clock.advance(100);
  return res;
}

/** Pulses on `m` over `n` intervals of 15 minutes, 3 each. */
function intervals(rig: LinkRig, m: { pulse: { edge(t: number): void } }, n: number): void {
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < 3; p++) { rig.clock.advance(1000); m.pulse.edge(rig.clock.now()); }
    rig.clock.advance(900_000 - 3000);
  }
}

describe("a concentrator whose Storage is full, or that restarts", () => {
  it("goes on collecting and updating when an append is refused, says so (129), and collects the refused readings once there is room (finding 7)", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 12));
    const ids = [501, 502, 503];
    for (const id of ids) bootMeter(rig, `m${id}`, id);
    const conc = bootConcentrator(rig, "conc", ids);
    rig.clock.advance(3000);
    // Storage is full: every append is refused
    const room = conc.storage.capacity;
    conc.storage.capacity = conc.storage.used();
    expect(round(rig, conc)).toEqual([0, 0]);
    expect(conc.ctx.lastError()).toBe(Err.STORE_FULL);
    expect(conc.lines.length).toBe(0);
    // not stuck: the next round starts (before: 93 for ever from collect() and update(), both
    // refused while a round is still running)
    expect(round(rig, conc)).toEqual([0, 0]);
    // room again: the readings it could not keep are collected now
    conc.storage.capacity = room;
    rig.clock.advance(120_000);
    const r = round(rig, conc);
    expect(r).toEqual([3, 0]);
    expect(conc.lines.map((l) => +l.split(",")[0]).sort()).toEqual(ids);
  }, 60_000);

  it("files no load-profile interval twice after a restart, and stops its mark at the last interval Storage took (finding 8)", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 13));
    const m = bootMeter(rig, "m601", 601);
    let conc = bootConcentrator(rig, "conc", [601]);
    rig.clock.advance(3000);
    intervals(rig, m, 12);
    expect(round(rig, conc, 2)![0]).toBeGreaterThanOrEqual(11);
    const first = conc.lines.filter((l) => l.includes(".29.")).map((l) => +l.split(",")[5]);
    // the concentrator restarts (RAM gone): the next round asks only for newer intervals
    conc.powerOff();
    conc = bootConcentrator(rig, "conc2", [601], conc);
    rig.clock.advance(3000);
    intervals(rig, m, 3);
    round(rig, conc, 2);
    const times = conc.lines.filter((l) => l.includes(".29.")).map((l) => +l.split(",")[5]);
    expect(new Set(times).size).toBe(times.length);
    expect(times.length).toBeGreaterThanOrEqual(first.length + 3);
    // Storage refusing half-way through an answer: the mark stops at the last interval kept
    intervals(rig, m, 4);
    const room = conc.storage.capacity;
    conc.storage.capacity = conc.storage.used() + 100; // two or three more lines fit, not four
    round(rig, conc, 2);
    const part = conc.lines.filter((l) => l.includes(".29.")).length - times.length;
    expect(part).toBeGreaterThan(0);
    expect(part).toBeLessThan(4);
    conc.storage.capacity = room;
    rig.clock.advance(60_000);
    round(rig, conc, 2);
    const all = conc.lines.filter((l) => l.includes(".29.")).map((l) => +l.split(",")[5]);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(times.length + 4);
  }, 60_000);

  it("a head-end exports from a position and acknowledges; acknowledged files go, their meters' marks kept first, so a restart still files nothing twice", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 15));
    const m = bootMeter(rig, "m801", 801);
    let conc = bootConcentrator(rig, "conc", [801]);
    rig.clock.advance(3000);
    // more intervals than one store file holds (100 lines)
    for (let day = 0; day < 2; day++) { intervals(rig, m, 90); round(rig, conc, 2); }
    const json: string[] = [];
    let next = 0, n = 0;
    do { n = json.length; next = conc.ctx.exportReadings("json", (l) => json.push(l), next, 50); } while (json.length > n);
    const got = json.map((l) => JSON.parse(l));
    expect(got.map((r) => r.pos)).toEqual([...got.keys()].map((k) => got[0].pos + k)); // no gap, no repeat
    const profile = got.filter((r) => r.obis === "1-0:1.29.0");
    expect(profile.length).toBeGreaterThanOrEqual(170);
    expect(conc.ctx.store.ack(next)).toBe(0);
    expect(conc.ctx.store.start()).toBeGreaterThan(0); // acknowledged files went
    // before they went, the meter's mark was written to the registry file
    const fromFile = registry(10);
    meterFile(conc.storage, fromFile);
    expect(fromFile.profileAt(fromFile.find(801))).toBe(Math.max(...profile.map((r) => r.time)));
    // the concentrator restarts: the freed intervals' mark came from the registry file
    conc.powerOff();
    conc = bootConcentrator(rig, "conc2", [801], conc);
    rig.clock.advance(3000);
    expect(conc.ctx.store.acked()).toBe(next);
    intervals(rig, m, 2);
    round(rig, conc, 2);
    const after: string[] = [];
    conc.ctx.exportReadings("json", (l) => after.push(l), next);
    const times = after.map((l) => JSON.parse(l)).filter((r) => r.obis === "1-0:1.29.0").map((r) => r.time);
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times.length).toBeLessThanOrEqual(3);
    expect(Math.min(...times)).toBeGreaterThan(Math.max(...profile.map((r) => r.time)));
  }, 60_000);

  it("keeps the meters discovery found, their kind, version and group across a restart", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 14));
    const ids = [701, 702, 703, 704];
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 4 });
    let conc = bootConcentrator(rig, "conc", [701]);
    rig.clock.advance(3000);
    let found = -1;
    expect(conc.ctx.discover({ slots: 8, slotMs: 150, rounds: 6 }, (n) => { found = n; })).toBe(0);
    while (found < 0) rig.clock.advance(100);
    expect(found).toBe(3);
    let joined = -1;
    expect(conc.ctx.join(703, 9, (c) => { joined = c; })).toBe(0);
    while (joined < 0) rig.clock.advance(100);
    expect(joined).toBe(0);
    const before = ids.map((id) => { const r = conc.ctx.registry, i = r.find(id); return [id, r.flags(i), r.version(i), r.group(i)]; });
    conc.powerOff();
    conc = bootConcentrator(rig, "conc2", [701], conc);
    const r = conc.ctx.registry;
    expect(r.count()).toBe(4);
    expect(ids.map((id) => { const i = r.find(id); return [id, r.flags(i), r.version(i), r.group(i)]; })).toEqual(before);
    expect(before.find((b) => b[0] === 703)![3]).toBe(9);
    expect(before.find((b) => b[0] === 702)![1]).toBe(Rf.DISCOVERED);
  }, 60_000);

  it("the registry file survives a power cut at every Storage operation, torn appends and snapshots included", () => {
    // a history of changes long enough for two snapshots
    const steps: ((r: ReturnType<typeof registry>) => void)[] = [];
    // one change a step (each is one append, or a snapshot)
    for (let k = 0; k < 2 * (COMPACT_SLACK + 10); k++) {
      const id = 100 + (k % 10);
      steps.push(k < 10 ? (r) => { r.add(id, Rf.DISCOVERED); } : (r) => { r.setInfo(r.find(id), 1 + (k % 3), k); });
    }
    steps.push((r) => r.setGroup(r.find(105), 77));
    const view = (x: ReturnType<typeof registry>) => Array.from({ length: x.count() }, (_, i) => `${x.id(i)}:${x.flags(i)}:${x.kind(i)}:${x.version(i)}:${x.group(i)}`).join(" ");
    /** A registry kept in `st`, as the concentrator keeps it. */
    const kept = (st: MockStorage) => {
      let f: ReturnType<typeof meterFile> | null = null;
      const r = registry(50, (i) => { f?.changed(i); });
      f = meterFile(st, r);
      return r;
    };
    // the uncut history: its states after each step, and how many Storage operations it takes
    const probe = new MockStorage();
    const pr = kept(probe);
    const states = [""];
    for (const s of steps) { s(pr); states.push(view(pr)); }
    const total = probe.count;
    expect(total).toBeGreaterThan(steps.length); // snapshots happened
    let cuts = 0;
    for (let cut = 0; cut < total; cut++) {
      const st = new MockStorage(1 << 20, cut + 1);
      st.cutAt(cut);
      const r = kept(st);
      let k = 0;
      while (k < steps.length && !st.off) steps[k++](r);
      expect(st.off).toBe(true);
      // the cut came in step k - 1: what is found is the state before it or after it
      st.powerOn();
      const seen = view(kept(st));
      if (seen !== states[k - 1] && seen !== states[k]) throw new Error(`cut at operation ${cut} (step ${k - 1}): found "${seen.slice(0, 60)}..."`);
      // and it goes on: one more change is kept across the next restart, in one file
      const again = kept(st);
      again.setGroup(again.add(999, Rf.DISCOVERED), 5);
      const third = kept(st);
      expect(third.group(third.find(999))).toBe(5);
      expect([...st.files.keys()].filter((n) => METER_FILES.includes(n)).length).toBe(1);
      cuts++;
    }
    expect(cuts).toBe(total);
  });
});
