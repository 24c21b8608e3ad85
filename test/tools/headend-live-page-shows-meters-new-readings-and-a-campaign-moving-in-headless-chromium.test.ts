/*
 * The head-end's live page as a person sees it: the bench network (the real concentrator
 * program and eight meters on the simulated line) attached to a head-end with the embedded
 * broker and SQLite, its page served on a free port and opened in headless Chromium
 * (test/fixtures/browser.ts). Under CI Chromium must start; elsewhere, without it, the test skips.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { HeadendDb } from "../../tools/headend/db";
import { Headend } from "../../tools/headend/core";
import { embeddedBroker } from "../../tools/headend/mqtt";
import { benchNetwork } from "../../tools/headend/bench";
import { startPage } from "../../tools/headend/page";
import { imageFileOf } from "../../tools/image/image";
import { makeProgramImage } from "../harness/scripted-concentrator";
import { chromiumPath } from "../fixtures/chromium";
import { launch, type Page } from "../fixtures/browser";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closers.splice(0).reverse()) await c(); });

const START = 1_800_000_000;
/** How the page should write a reading's time, worked out here from the Unix seconds. */
const shown = (t: number) => `${new Date(t * 1000).toISOString().slice(0, 10)} ${new Date(t * 1000).toISOString().slice(11, 19)}Z`;

/** What the page shows for each meter: its id, kind, version, newest readings and plot. */
interface SeenMeter { id: number; kind: string; version: string; readings: { obis: string; time: number; text: string }[]; lines: { obis: string; points: number }[]; bars: number }
const seenMeters = (p: Page) => p.evaluate<SeenMeter[]>(`Array.from(document.querySelectorAll("tr.meter"), (tr) => ({
  id: +tr.dataset.meter, kind: tr.querySelector(".kind").textContent, version: tr.querySelector(".version").textContent,
  readings: Array.from(tr.querySelectorAll("li.reading"), (li) => ({ obis: li.dataset.obis, time: +li.dataset.time, text: li.textContent.trim() })),
  lines: Array.from(tr.querySelectorAll("svg.plot .register-line"), (l) => ({ obis: l.dataset.obis, points: +l.dataset.points })),
  bars: tr.querySelectorAll("svg.plot .profile-bar").length,
}))`);

/** The campaign box as drawn: phase, meters complete, its summary line, and how much of the bar is filled (laid-out widths). */
interface SeenCampaign { phase: string; complete: number; meters: number; summary: string; filled: number }
const seenCampaign = (p: Page) => p.evaluate<SeenCampaign | null>(`(() => { const c = document.querySelector(".campaign"); if (!c) return null;
  return { phase: c.querySelector(".phase").textContent, complete: +c.dataset.complete, meters: +c.dataset.meters, summary: c.querySelector(".campaign-summary").textContent,
    filled: c.querySelector(".bar-done").getBoundingClientRect().width / c.querySelector(".bar").getBoundingClientRect().width }; })()`);

describe("the head-end's live page in headless Chromium (the bench network)", () => {
  it("lists the meters with versions, newest readings and plots; shows a reading that arrives after it loaded; shows a campaign started over MQTT moving to its end", async (t) => {
    const bin = chromiumPath();
    if (!bin) { t.skip(); return; } // no Chromium outside CI: .ci/run installs Debian's chromium
    const bench = benchNetwork({ id: 1, startTime: START });
    const broker = await embeddedBroker(0, "127.0.0.1");
    closers.push(() => broker.close());
    const dir = mkdtempSync(join(tmpdir(), "headend-page-"));
    const files = join(dir, "files");
    mkdirSync(files);
    const db = new HeadendDb(join(dir, "h.db"));
    closers.push(() => db.close());
    // the registry asked at every pull, so a new version shows at once
    const h = new Headend({ db, mqtt: broker, files, metersEveryMs: 0, timeoutMs: 5000 });
    closers.push(() => h.stop());
    const at = await h.attach(bench.console);
    await h.listen();

    // an hour of readings, and a load-profile round (15-minute intervals) at its end
    for (let s = 0; s < 3600; s++) bench.rig.clock.advance(1000);
    expect(bench.conc.ctx.collect(() => undefined, undefined, 2)).toBe(0);
    for (let s = 0; s < 60; s++) bench.rig.clock.advance(1000);
    expect(await h.pullAll()).toBeGreaterThan(0);

    const page = await startPage(h, 0, "127.0.0.1");
    closers.push(() => page.close());
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const browser = await launch(bin);
    closers.push(() => browser.close());
    const p = await browser.open(page.url);

    // --- the page loads and lists the bench's meters, each as the database has it
    expect(await p.evaluate("document.title")).toBe("meterline head-end");
    expect(await p.texts("tr.concentrator td.status")).toEqual(["online"]);
    const meters = await seenMeters(p);
    expect(meters.map((m) => m.id)).toEqual(bench.meters);
    const registry = db.db.prepare("SELECT id, kind, version FROM meters ORDER BY id").all() as { id: number; kind: number; version: number }[];
    expect(registry.map((r) => r.id)).toEqual(bench.meters);
    const kinds = ["not identified", "electricity", "water", "gas"];
    for (const m of meters) {
      const r = registry.find((x) => x.id === m.id)!;
      expect(m.kind).toBe(kinds[r.kind]);
      expect(m.version).toBe(r.version ? `v${r.version}` : "unknown"); // a meter the identify round missed (10% loss) is not known yet
      // each register's newest reading, as stored, in words a person reads
      const newest = db.db.prepare("SELECT obis, value, unit, MAX(time) AS time FROM readings WHERE meter = ? GROUP BY obis ORDER BY obis").all(m.id) as { obis: string; value: number; unit: string; time: number }[];
      expect(newest.length).toBeGreaterThan(0);
      expect(m.readings.map((x) => x.text)).toEqual(newest.map((x) => `${x.obis} ${x.value} ${x.unit} ${shown(x.time)}`));
      // the plot: a line through every register reading of the window, a bar per load-profile interval
      const counts = db.db.prepare("SELECT obis, count(*) AS n FROM readings WHERE meter = ? GROUP BY obis ORDER BY obis").all(m.id) as { obis: string; n: number }[];
      expect(m.lines).toEqual(counts.filter((c) => !/\.29\./.test(c.obis)).map((c) => ({ obis: c.obis, points: c.n })));
      expect(m.bars).toBe(counts.filter((c) => /\.29\./.test(c.obis)).reduce((a, c) => a + c.n, 0));
    }
    expect(meters.reduce((a, m) => a + m.bars, 0)).toBeGreaterThanOrEqual(8 * 3); // the profile round brought intervals
    expect(meters.every((m) => m.lines.length === 1 && m.lines[0].points >= 50)).toBe(true); // an hour of register rounds
    expect(await p.texts(".no-campaign")).toEqual(["No campaign since the head-end started."]);

    // --- a reading that arrives after the page loaded shows without reloading
    await p.waitFor(`document.body.dataset.live === "connected"`);
    const before = db.db.prepare("SELECT max(rowid) AS n FROM readings").get() as { n: number };
    for (let s = 0; s < 60; s++) bench.rig.clock.advance(1000);
    expect(await h.pullAll()).toBeGreaterThan(0);
    const fresh = db.db.prepare("SELECT meter, obis, value, unit, time FROM readings WHERE rowid > ? AND meter = 1004 ORDER BY time DESC LIMIT 1").get(before.n) as { meter: number; obis: string; value: number; unit: string; time: number };
    expect(fresh, "meter 1004 (water) was read in the minute").toBeDefined();
    expect(meters.find((m) => m.id === 1004)!.readings.some((r) => r.time === fresh.time)).toBe(false);
    await p.waitFor(`document.querySelector('tr.meter[data-meter="1004"] li.reading[data-time="${fresh.time}"]')`);
    const now1004 = (await seenMeters(p)).find((m) => m.id === 1004)!;
    expect(now1004.readings.find((r) => r.obis === fresh.obis)!.text).toBe(`${fresh.obis} ${fresh.value} ${fresh.unit} ${shown(fresh.time)}`);
    expect(fresh.unit).toBe("m3");
    expect(now1004.lines[0].points).toBe(meters.find((m) => m.id === 1004)!.lines[0].points + 1); // and the plot grew by it

    // --- a campaign started through the head-end's command path (MQTT), its progress moving on the page
    writeFileSync(join(files, "meter-v2.mlim"), imageFileOf(makeProgramImage(2, 3000, 200).bytes, "LINUX", 2, 200));
    const client = await mqtt.connectAsync(broker.url, { clientId: "page-test" });
    closers.push(() => client.endAsync());
    const answers: string[] = [];
    client.on("message", (_t, payload) => answers.push(payload.toString()));
    await client.subscribeAsync("meterline/1/reply");
    await client.publishAsync("meterline/1/cmd/update", JSON.stringify({ id: "u1", image: "meter-v2.mlim", imageId: 2 }));
    for (let i = 0; i < 200 && !answers.length; i++) await new Promise((r) => setTimeout(r, 25));
    expect(JSON.parse(answers[0] ?? "{}")).toMatchObject({ command: "update", id: "u1", ok: true, imageId: 2 });

    const seen: SeenCampaign[] = [];
    const look = async () => {
      const want = at.report!;
      // the page catches up with the head-end's report (through its event stream), then is read
      await p.waitFor(`(() => { const c = document.querySelector(".campaign"); return c && c.dataset.phase === ${JSON.stringify(want.phase)} && +c.dataset.complete === ${want.complete}; })()`);
      const c = (await seenCampaign(p))!;
      if (JSON.stringify(c) !== JSON.stringify(seen.at(-1))) seen.push(c);
    };
    await look();
    for (let step = 0; step < 400 && at.report!.running; step++) {
      for (let s = 0; s < 5; s++) bench.rig.clock.advance(1000);
      await h.pullAll();
      await look();
    }
    expect(at.report).toMatchObject({ phase: "done", running: false, complete: 8, meters: 8, failed: 0 });
    // it started at none of eight, and the page followed it through its phases to all eight
    expect(seen[0]).toMatchObject({ complete: 0, meters: 8, filled: 0 });
    expect(seen[0].phase).not.toBe("done");
    const phases = seen.map((c) => c.phase).filter((x, i, all) => x !== all[i - 1]);
    expect(phases).toContain("broadcast");
    expect(phases.length).toBeGreaterThanOrEqual(3);
    expect(phases.at(-1)).toBe("done");
    for (let i = 1; i < seen.length; i++) expect(seen[i].complete).toBeGreaterThanOrEqual(seen[i - 1].complete);
    expect(seen.some((c) => c.complete > 0 && c.complete < 8 && c.filled > 0 && c.filled < 1)).toBe(true); // part of the way, the bar part filled
    const last = seen.at(-1)!;
    expect(last.summary).toMatch(/^done, round \d+: 8 of 8 meters updated, 0 failed$/);
    expect(last.filled).toBeCloseTo(1, 2);
    // and the meters' new version, from the registry
    expect(db.db.prepare("SELECT id, version FROM meters ORDER BY id").all()).toEqual(bench.meters.map((id) => ({ id, version: 2 })));
    await p.waitFor(`Array.from(document.querySelectorAll("tr.meter .version")).every((e) => e.textContent === "v2")`);
    expect(p.errors).toEqual([]);
  }, 180_000);
});
