/*
 * The bench's report as a person sees it: the page of a real run opened in headless Chromium
 * (test/fixtures/chromium.ts), its laid-out elements measured and its screenshot's pixels
 * looked at. Under CI Chromium must start; elsewhere, without it, the test skips.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parseScenario } from "../../bench/scenario";
import { runScenario, type RunResult } from "../../bench/run";
import { everyRound, longStripeNotes, reportHtml, PHASES } from "../../bench/report";
import { chromiumPath, look, pixelsOf, type Box, type Measured, type Png } from "../fixtures/chromium";

/** The default scenario (8 meters, 10% loss in bursts, a cut in one download and one in a swap) with a synthetic image, so no build is needed. */
const scenario = (over: Record<string, unknown> = {}) => {
  const raw = JSON.parse(readFileSync("bench/scenarios/default.json", "utf8"));
  return parseScenario({ ...raw, image: { source: "synthetic", size: 34000, blockSize: 200, version: 2 }, ...over });
};

const SELECTORS = [
  "svg.chart", ".lane", ".lane-cut", ".lane-back", ".lane-restart", ".lane-off", ".heat-cell", "#heatmap", ".legend-item", ".airtime-bar",
  ".reading-row", ".register-line", ".profile-bar", "table", ".stripe-notes li", "p.caption", "h2",
  ".event-mark", "#progress .time-axis", ".lane-track",
];
const inLane = (id: number) => [".lane-cut", ".lane-back", ".lane-restart", ".lane-off"].map((s) => `.lane[data-meter="${id}"] ${s}`);

const seenAs = (bin: string, r: RunResult, extra: string[] = []) => look(bin, reportHtml(r), [...SELECTORS, ...extra]);
const inside = (b: Box, o: Box) => b.x >= o.x - 1 && b.y >= o.y - 1 && b.x + b.w <= o.x + o.w + 1 && b.y + b.h <= o.y + o.h + 1;
const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
/** Pixels in a box far redder than green and blue: a thin red line, even where antialiasing blends it with what is under it. */
const reddish = (p: Png, b: { x: number; y: number; w: number; h: number }) => {
  let n = 0;
  for (let y = Math.max(0, Math.floor(b.y)); y < Math.min(p.height, b.y + b.h); y++) for (let x = Math.max(0, Math.floor(b.x)); x < Math.min(p.width, b.x + b.w); x++) {
    const k = (y * p.width + x) * 4;
    if (p.rgba[k] > p.rgba[k + 1] + 50 && p.rgba[k] > p.rgba[k + 2] + 40) n++;
  }
  return n;
};
const chart = (m: Measured, id: string) => m["svg.chart"].find((b) => b.attrs.id === id)!;

describe("the bench's report page in headless Chromium", () => {
  it("coded: a lane per meter with its cut, power-back and restart where they happened, a deficit heat map, readings plots and every phase in the legend", async (t) => {
    const bin = chromiumPath();
    if (!bin) { t.skip(); return; } // no Chromium outside CI: .ci/run installs Debian's chromium
    const r = await runScenario(scenario());
    expect(r.ok, r.reason).toBe(true);
    const ids = r.meters.map((m) => m.id);
    const { measured: m, shot } = seenAs(bin, r, [...inLane(1003), ...inLane(1006)]);
    const page = m.viewport[0];

    // every chart is drawn, with a size, and fits the window's width (no sideways scrolling)
    expect(m["svg.chart"].map((b) => b.attrs.id)).toEqual(["progress", "lanes", "heatmap", "readings", "airtime"]);
    for (const b of m["svg.chart"]) {
      expect(b.w, b.attrs.id).toBeGreaterThan(300);
      expect(b.h, b.attrs.id).toBeGreaterThan(50);
      expect(b.x + b.w, b.attrs.id).toBeLessThanOrEqual(page.w);
    }
    expect(m.h2.map((b) => b.text)).toEqual(["Campaign progress over virtual time", "Each meter over the campaign", "Deficits by round", "Readings and load profiles", "Airtime per phase", "Meters", "Totals", "Events"]);

    // one lane per meter, in order, stacked without overlapping, each labelled with its id and where its campaign ended
    expect(m[".lane"].map((b) => +b.attrs["data-meter"])).toEqual(ids);
    m[".lane"].forEach((b, i) => {
      expect(b.h).toBeGreaterThan(20);
      expect(b.text.endsWith(`${ids[i]}activated`), b.text).toBe(true); // (after the marks' hover titles)
      if (i) expect(b.y).toBeGreaterThanOrEqual(m[".lane"][i - 1].y + m[".lane"][i - 1].h - 1);
    });
    // meter 1003: cut during the download, off (hatched) until the power came back, then its restart into v2
    const [cut, back, restart, off] = inLane(1003).map((s) => m[s]);
    expect([cut.length, back.length, restart.length, off.length]).toEqual([1, 1, 1, 1]);
    expect(off[0].w).toBeGreaterThan(10);
    expect(cut[0].x).toBeLessThan(back[0].x);
    // (a sample, 5 s of the campaign, in pixels of the lanes' chart: the hatching follows the samples)
    const sample = Math.max(15, (1.2 * 5 * chart(m, "lanes").w) / r.timeline[r.timeline.length - 1].t);
    expect(Math.abs(off[0].x - (cut[0].x + cut[0].w / 2))).toBeLessThan(sample); // off from the cut (to a sample's precision)...
    expect(Math.abs(off[0].x + off[0].w - (back[0].x + back[0].w / 2))).toBeLessThan(sample); // ...to the power-back
    expect(restart[0].x).toBeGreaterThan(back[0].x);
    // meter 1006: cut in the swap (its restart), so no restart mark, and the power back after it
    const [cut6, back6, restart6] = inLane(1006).map((s) => m[s]);
    expect([cut6.length, back6.length, restart6.length]).toEqual([1, 1, 0]);
    expect(cut6[0].x).toBeLessThan(back6[0].x);
    expect(m[".lane-restart"].length).toBe(r.events.filter((e) => e.kind === "restart").length);
    expect(m[".lane-restart"].length).toBe(7);
    for (const s of [".lane-cut", ".lane-back", ".lane-restart"]) for (const b of m[s]) expect(inside(b, chart(m, "lanes")), s).toBe(true);

    // the campaign's events on the progress chart, on its own time axis (seconds from the campaign's start, as the
    // lanes): a mark for each one inside the campaign but the restarts (those are on the lanes), each at its time's
    // fraction of the axis, seen as red dashes
    const progress = chart(m, "progress"), axis = m["#progress .time-axis"][0];
    const tMax = r.timeline[r.timeline.length - 1].t;
    const shownEvents = r.events.filter((e) => e.kind !== "restart" && Math.abs(e.t - r.campaignStartS - tMax / 2) <= tMax / 2 + 0.01);
    const marks = m[".event-mark"];
    expect(marks.length).toBe(shownEvents.length);
    expect(marks.length).toBe(6); // the start, 1003's cut and power back, 1006's cut and power back, the end
    expect(axis.w).toBeGreaterThan(500);
    marks.forEach((b, i) => {
      expect(inside(b, progress), b.attrs["data-event"]).toBe(true);
      expect(b.h).toBeGreaterThan(150);
      const f = (shownEvents[i].t - r.campaignStartS) / tMax;
      expect(Math.abs(b.x + b.w / 2 - (axis.x + f * axis.w)), shownEvents[i].text).toBeLessThan(2);
      expect(reddish(shot, { x: b.x - 1.5, y: b.y, w: b.w + 3, h: b.h }), shownEvents[i].text).toBeGreaterThan(40);
    });
    // 1003's power cut: the same fraction of the time axis on the progress chart as on its lane
    const cutMark = marks.filter((b) => b.attrs["data-meter"] === "1003" && b.attrs["data-kind"] === "cut");
    expect(cutMark.length).toBe(1);
    const track = m[".lane-track"][ids.indexOf(1003)];
    const onProgress = (cutMark[0].x + cutMark[0].w / 2 - axis.x) / axis.w, onLane = (cut[0].x + cut[0].w / 2 - track.x) / track.w;
    expect(onProgress).toBeGreaterThan(0.05);
    expect(onProgress).toBeLessThan(0.5);
    expect(Math.abs(onProgress - onLane) * track.w).toBeLessThan(2);

    // the heat map: a cell per meter and round, each with a size, inside the map
    expect(m["#heatmap"][0].attrs["aria-label"]).toBe("deficits by round");
    // (every round the campaign counted, those that heard nobody too: here its last, whose group query no meter answered)
    expect(everyRound(r).map((rd) => rd.round)).toEqual(Array.from({ length: r.campaign.rounds }, (_, k) => k + 1));
    expect(m[".heat-cell"].length).toBe(ids.length * r.campaign.rounds);
    for (const b of m[".heat-cell"]) { expect(b.w).toBeGreaterThan(2); expect(b.h).toBeGreaterThan(5); expect(inside(b, m["#heatmap"][0])).toBe(true); }

    // readings: a row per meter, its register line drawn across the day, a bar per load-profile interval
    expect(m[".reading-row"].map((b) => +b.attrs["data-meter"])).toEqual(ids);
    expect(m[".register-line"].length).toBe(ids.length);
    for (const b of m[".register-line"]) expect(b.w).toBeGreaterThan(250);
    expect(m[".profile-bar"].length).toBe(r.meterReadings.reduce((a, x) => a + x.intervals.length, 0));
    expect(m[".profile-bar"].length).toBe(8 * 97);

    // every phase in the legend, readings included, with its airtime; no entry on top of another
    const legend = m[".legend-item"];
    expect(legend.map((b) => b.attrs["data-phase"])).toEqual([...PHASES]);
    expect(legend[0].text).toMatch(/^readings \d+\.\d (s|min) \(\d+%\)$/);
    for (const b of legend) expect(b.w * b.h).toBeGreaterThan(0);
    for (let i = 0; i < legend.length; i++) for (let j = i + 1; j < legend.length; j++) expect(overlap(legend[i], legend[j]), `${legend[i].text} / ${legend[j].text}`).toBe(false);
    expect(m[".airtime-bar"].map((b) => b.attrs["data-phase"])).toEqual([...PHASES]);

    // the repeated activate/read-back stripes explained; the meters table once
    const captions = m["p.caption"].map((b) => b.text).join("\n");
    expect(captions).toMatch(/here it activated \d+ times? and read back \d+ times?/);
    expect(m[".stripe-notes li"].length).toBe(r.timeline.filter((s) => s.waiting?.length).length + longStripeNotes(r).length);
    expect(longStripeNotes(r).length).toBeGreaterThan(0); // the first activation waited for 1003, off
    expect(m.table.length).toBe(1);

    // the screenshot: the lanes painted in their fill colour, the cut in red, the heat map's colours
    const lanes = chart(m, "lanes");
    expect(pixelsOf(shot, lanes, [207, 224, 247])).toBeGreaterThan(20_000);
    expect(pixelsOf(shot, { x: cut[0].x - 2, y: cut[0].y, w: cut[0].w + 4, h: cut[0].h }, [176, 0, 32], 40)).toBeGreaterThan(10);
    expect(pixelsOf(shot, m["#heatmap"][0], [242, 242, 242], 2)).toBeGreaterThan(100); // meters not heard in a round
  }, 120_000);

  it("patent: the heat map has a cell per block and round, the rows named by round", async (t) => {
    const bin = chromiumPath();
    if (!bin) { t.skip(); return; }
    const r = await runScenario(scenario({ method: "patent", name: "patent" }));
    expect(r.ok, r.reason).toBe(true);
    const { measured: m, shot } = seenAs(bin, r, ["#heatmap text"]);
    expect(m["#heatmap"][0].attrs["aria-label"]).toBe("missing blocks by round");
    expect(m.h2[2].text).toBe("Missing blocks by round");
    expect(r.image.blocks).toBe(170);
    expect(m[".heat-cell"].length).toBe(everyRound(r).length * 170);
    for (const b of m[".heat-cell"]) { expect(b.w).toBeGreaterThan(2); expect(b.h).toBeGreaterThan(5); }
    const texts = m["#heatmap text"].map((b) => b.text);
    for (let k = 1; k <= r.campaign.rounds; k++) expect(texts).toContain(String(k));
    // some block was missing in the first round: its cells are coloured, not the near-white of 0
    expect(r.rounds[0].missing.some((v) => v > 0)).toBe(true);
    expect(pixelsOf(shot, m["#heatmap"][0], [253, 141, 60], 60)).toBeGreaterThan(20);
  }, 120_000);
});
