/*
 * A keyed campaign through the coded method on a lossy line: the meters lose broadcast
 * blocks, keep the signed repair blocks the concentrator makes under the campaign's block
 * key (docs/security.md, Broadcast blocks), decode, verify and activate. The harness's
 * lossless runs never make a keyed meter keep or decode a repair block; this one must.
 */
import { describe, expect, it } from "vitest";
import { Ms } from "../../firmware/concentrator/campaign";
import { decodeAppHeader } from "../../firmware/common/image";
import { keyedCampaign } from "../harness/keyed-campaign";

describe("a keyed coded campaign on a lossy line", () => {
  it("keyed meters keep signed repair blocks, decode them, and every meter ends on the new program", () => {
    const ids = [2101, 2102, 2103, 2104, 2105];
    const k = keyedCampaign(ids, 11, { loss: 0.12, size: 12000 });
    // the receivers' counters, summed over each meter's lives (a restart starts a new receiver)
    const kept = new Map<number, number>(), decodes = new Map<number, number>();
    const sample = () => { for (const id of ids) { const s = k.meter(id).meter.receiver.stats; kept.set(id, Math.max(kept.get(id) ?? 0, s.repairs)); decodes.set(id, Math.max(decodes.get(id) ?? 0, s.decodes)); } };
    const tick = k.rig.clock.advance.bind(k.rig.clock);
    k.rig.clock.advance = (ms: number) => { sample(); tick(ms); };
    const { camp, code } = k.run(true);
    expect(code).toBe(0);
    expect(ids.map((_, i) => camp.state(i))).toEqual(ids.map(() => Ms.ACTIVATED));
    const keptAll = [...kept.values()].reduce((a, b) => a + b, 0), decodedBy = ids.filter((id) => (decodes.get(id) ?? 0) > 0);
    expect(keptAll).toBeGreaterThan(0);
    expect(decodedBy.length).toBeGreaterThan(0);
    // every meter's app region holds v2, installed by its boot routine
    for (const id of ids) {
      const m = k.meter(id), app = m.board.regions.app!;
      expect(decodeAppHeader(m.flash.read(app.addr, 16), app.size)?.version, `meter ${id}`).toBe(2);
    }
    console.log(`keyed coded campaign, 12% loss: ${keptAll} repair blocks kept, ${decodedBy.length} of ${ids.length} meters decoded`);
  }, 120_000);
});
