/*
 * Two concentrators whose lines overlap (issue 20, item 7): a meter belongs to one (set when
 * that one's discovery claims it, CONFIG key 12 HOME, kept through restarts, changed by a
 * hand-over from the one it has) and hears only it, broadcasts included, but for DISCOVER.
 * On one simulated line: both discover at once and no meter ends up in both registries;
 * hand-overs put two meters on each; each one's clock, collections and campaign reach its
 * own meters only, side by side; a meter released (home 0) is claimed by the other.
 */
import { describe, expect, it } from "vitest";
import { LinkRig, bootConcentrator, bootMeter, lineFor, type ConcNode } from "../../bench/rig";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { consoleApi } from "../../firmware/concentrator/console";
import { Rf } from "../../firmware/concentrator/registry";
import { hostNative, latin1 } from "../../hal/mock/native";

const IDS = [1001, 1002, 1003, 1004];
/** Where the meters end up: 1001 and 1002 with concentrator 1, 1003 and 1004 with 2. */
const WANT: Record<number, number> = { 1001: 1, 1002: 1, 1003: 2, 1004: 2 };

describe("neighbouring concentrators on one line", () => {
  it("join their own meters, set their clocks, collect and update them side by side, and hand a meter over", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 23, { defaults: { loss: 0.05 } }));
    for (const id of IDS) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true });
    const c: Record<number, ConcNode> = { 1: bootConcentrator(rig, "c1", [], undefined, { id: 1 }), 2: bootConcentrator(rig, "c2", [], undefined, { id: 2 }) };
    rig.clock.advance(3000);
    const out: Record<number, string[]> = { 1: [], 2: [] };
    const images: Record<string, string> = {
      "v2.bin": latin1(makeProgramImage(2, 3000, 200, { imageId: 44 }).bytes),
      "v3.bin": latin1(makeProgramImage(3, 3000, 200, { imageId: 45 }).bytes),
    };
    const ml: Record<number, any> = {
      1: consoleApi(c[1].ctx, hostNative, 1, (n) => images[n], (l) => out[1].push(l)),
      2: consoleApi(c[2].ctx, hostNative, 1, (n) => images[n], (l) => out[2].push(l)),
    };
    const wait = (pred: () => boolean, ms = 600_000) => { const end = rig.clock.now() + ms; while (!pred() && rig.clock.now() < end) rig.clock.advance(100); expect(pred()).toBe(true); };
    const said = (k: number, start: string) => out[k].find((l) => l.startsWith("meterline: " + start));
    const home = (id: number) => rig.meters.get(id)!.meter.metering.settings.home;
    /** The meters concentrator k keeps (not removed). */
    const kept = (k: number) => IDS.filter((id) => { const r = c[k].ctx.registry, i = r.find(id); return i >= 0 && !(r.flags(i) & Rf.REMOVED); });

    // both discover at once: every meter answers both, and takes the first claim it hears
    expect(ml[1].discover(8, 300)).toBe(0);
    expect(ml[2].discover(8, 300)).toBe(0);
    wait(() => !!said(1, "discovery found") && !!said(2, "discovery found"));
    for (const id of IDS) expect([1, 2], `meter ${id}`).toContain(home(id));
    expect(kept(1)).toEqual(IDS.filter((id) => home(id) === 1));
    expect(kept(2)).toEqual(IDS.filter((id) => home(id) === 2));

    // hand-overs to the split wanted: the meter's concentrator sends it on, the other finds it its own
    for (const id of IDS) {
      const from = home(id), to = WANT[id];
      if (from === to) continue;
      out[from].length = 0;
      expect(ml[from].home(id, to)).toBe(0);
      wait(() => !!said(from, `meter ${id}`));
      expect(out[from]).toEqual([`meterline: meter ${id} handed over to concentrator ${to} (removed here, its readings stay)`]);
      expect(home(id)).toBe(to);
    }
    // (a concentrator registers anew only the meters handed to it)
    const fresh = (k: number) => IDS.filter((id) => WANT[id] === k && c[k].ctx.registry.find(id) < 0).length;
    const news: Record<number, number> = { 1: fresh(1), 2: fresh(2) };
    for (const k of [1, 2]) {
      out[k].length = 0;
      expect(ml[k].discover(8, 300)).toBe(0);
      wait(() => !!said(k, "discovery found"));
    }
    // each one's own meters answer as its own, the other's as theirs (and a hand-over's old owner keeps it as removed)
    expect(out[1]).toEqual([`meterline: discovery found ${news[1]} new meters, ${c[1].ctx.registry.count()} known, 2 of other concentrators left alone`]);
    expect(out[2]).toEqual([`meterline: discovery found ${news[2]} new meters, ${c[2].ctx.registry.count()} known, 2 of other concentrators left alone`]);
    expect([kept(1), kept(2)]).toEqual([[1001, 1002], [1003, 1004]]);
    // a neighbour's meter is not one to configure here
    expect(ml[1].zone(1003, 60, "EU")).toBe(128);

    // each one's clock: TIME_SET is a broadcast, and only its own meters take it
    expect(ml[1].time(1_790_000_000)).toBe(0);
    expect(ml[2].time(1_790_100_000)).toBe(0);
    rig.clock.advance(5000);
    for (const id of IDS) {
      const t = rig.meters.get(id)!.meter.metering.wallTime();
      expect(t - (WANT[id] === 1 ? 1_790_000_000 : 1_790_100_000), `meter ${id}`).toBeGreaterThanOrEqual(0);
      expect(t - (WANT[id] === 1 ? 1_790_000_000 : 1_790_100_000), `meter ${id}`).toBeLessThan(10);
    }

    // readings side by side: each store holds its own meters' lines only
    for (const k of [1, 2]) { out[k].length = 0; expect(ml[k].read()).toBe(0); }
    wait(() => !!said(1, "readings round") && !!said(2, "readings round"));
    expect([said(1, "readings round"), said(2, "readings round")]).toEqual(["meterline: readings round: 2 collected, 0 meters did not answer", "meterline: readings round: 2 collected, 0 meters did not answer"]);
    const metersIn = (k: number) => [...new Set(c[k].lines.map((l) => +l.split(",")[0]))].sort();
    expect([metersIn(1), metersIn(2)]).toEqual([[1001, 1002], [1003, 1004]]);

    // campaigns side by side, both broadcast: version 2 for concentrator 1's meters, 3 for 2's
    const heardBefore = rig.meters.get(1003)!.meter.endpoint.stats.notForUs;
    for (const k of [1, 2]) out[k].length = 0;
    expect(ml[1].update("v2.bin", { imageId: 44, version: 2 })).toBe(0);
    expect(ml[2].update("v3.bin", { imageId: 45, version: 3 })).toBe(0);
    expect([out[1][0], out[2][0]]).toEqual(["meterline: campaign 44 started: 3000 bytes, 15 blocks, 2 meters", "meterline: campaign 45 started: 3000 bytes, 15 blocks, 2 meters"]);
    wait(() => !!said(1, "campaign 44 ended") && !!said(2, "campaign 45 ended"), 3_600_000);
    expect([said(1, "campaign 44 ended"), said(2, "campaign 45 ended")]).toEqual(["meterline: campaign 44 ended: every meter done", "meterline: campaign 45 ended: every meter done"]);
    const version = (id: number) => { const n = rig.meters.get(id)!; return n.flash.read(n.board.regions.app!.addr + 12, 1)[0]; };
    expect(IDS.map(version)).toEqual([2, 2, 3, 3]);
    // (meter 1003 restarted into version 3: a new node, whose endpoint counts afresh)
    expect(rig.meters.get(1003)!.meter.endpoint.stats.notForUs + heardBefore).toBeGreaterThan(15);

    // the concentrator is kept through the restarts of the update: still only its own hears it
    expect(IDS.map(home)).toEqual([1, 1, 2, 2]);
    expect(ml[1].time(1_791_000_000)).toBe(0);
    rig.clock.advance(5000);
    expect(rig.meters.get(1003)!.meter.metering.wallTime()).toBeLessThan(1_791_000_000);
    expect(rig.meters.get(1001)!.meter.metering.wallTime()).toBeGreaterThanOrEqual(1_791_000_000);

    // released (home 0), a meter hears everyone again, and the other concentrator's discovery claims it
    out[2].length = 0;
    expect(ml[2].home(1004, 0)).toBe(0);
    wait(() => !!said(2, "meter 1004"));
    expect(out[2]).toEqual(["meterline: meter 1004 belongs to no concentrator (still read here)"]);
    expect(home(1004)).toBe(0);
    out[1].length = 0;
    expect(ml[1].discover(8, 300)).toBe(0);
    wait(() => !!said(1, "discovery found"));
    expect(out[1][0]).toBe("meterline: discovery found 1 new meters, 3 known, 1 of other concentrators left alone");
    expect(home(1004)).toBe(1);
    // bad arguments are refused and send nothing
    expect(ml[1].home(1001, 70000)).toBe(1);
    expect(ml[1].home(5555)).toBe(128);
  }, 300_000);
});
