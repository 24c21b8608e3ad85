/*
 * The progress chart's "meters complete" line and the meters' lanes come from the same
 * samples and must agree: a meter is complete when it holds every block (as its lane shows;
 * while it is off, by what it held when it went off). The coded campaign activates a meter
 * it did not hear unfinished on trust (its state becomes activating before the read-back
 * finds it still downloading): that state is not a completed download. In the default
 * scenario meter 1003 is off, cut in the middle of its download, when the first activation
 * starts.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parseScenario } from "../../bench/scenario";
import { runScenario } from "../../bench/run";

const scenario = () => {
  const raw = JSON.parse(readFileSync("bench/scenarios/default.json", "utf8"));
  return parseScenario({ ...raw, image: { source: "synthetic", size: 34000, blockSize: 200, version: 2 } });
};

describe("meters complete on the progress chart", () => {
  it("counts only the meters whose lane holds the whole image, not one activated on trust with half its blocks", async () => {
    const r = await runScenario(scenario());
    expect(r.ok, r.reason).toBe(true);
    const K = r.image.blocks, last = r.meters.map(() => 0);
    for (const s of r.timeline) {
      s.held.forEach((h, i) => { if (h >= 0) last[i] = h; });
      expect(s.complete, `+${s.t.toFixed(1)} s ${s.phase}: held ${s.held.join(",")}`).toBe(last.filter((h) => h === K).length);
    }
    // the case that matters: 1003 still missing blocks while the campaign activates the others
    const k1003 = r.meters.findIndex((m) => m.id === 1003);
    const early = r.timeline.filter((s) => s.phase === "activate" && s.held[k1003] < K);
    expect(early.length).toBeGreaterThan(0);
    for (const s of early) expect(s.complete, `+${s.t.toFixed(1)} s`).toBeLessThan(r.meters.length);
    expect(r.timeline[r.timeline.length - 1].complete).toBe(r.meters.length);
  }, 60_000);
});
