/*
 * The live page for a network of many meters: one page of PAGE_SIZE meters at a time, by id,
 * of every concentrator or of one (?concentrator=ID), each meter of the page with its newest
 * readings and its plot, and a pager that says where the page is and links the pages beside it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadendDb, type Reading } from "../../tools/headend/db";
import { Headend } from "../../tools/headend/core";
import { liveHtml, PAGE_SIZE, pageState, startPage, viewOf } from "../../tools/headend/page";

const closing: (() => Promise<void> | void)[] = [];
afterEach(async () => { for (const c of closing.splice(0)) await c(); });

/** 250 meters: 150 of concentrator 1 (ids 1001..1150), 100 of concentrator 2 (ids 2001..2100), each with two register readings. */
function network(): { db: HeadendDb; h: Headend } {
  const db = new HeadendDb(join(mkdtempSync(join(tmpdir(), "headend-page-")), "h.db"));
  closing.push(() => db.close());
  for (const [c, first, n] of [["1", 1001, 150], ["2", 2001, 100]] as const) {
    db.concentrator(c, `tcp://127.0.0.1:${c}`);
    db.meters(c, Array.from({ length: n }, (_, k) => ({ id: first + k, kind: 1, version: 3, ok: 1, missed: 0, lastSeen: 10, quality: 30 })));
    const rows: Reading[] = [];
    for (let k = 0; k < n; k++) for (const t of [1_800_000_000, 1_800_000_900]) rows.push({ pos: rows.length, meter: first + k, obis: "1-0:1.8.0", value: (first + k) * 10 + (t % 1000), unit: "Wh", time: t, status: 0 });
    db.store(c, rows, rows.length);
  }
  return { db, h: new Headend({ db }) };
}

describe("the live page of many meters", () => {
  it("shows one page of meters with their newest readings and plots, and a pager; by concentrator too", async () => {
    const { h } = network();
    expect(PAGE_SIZE).toBe(100);
    const p2 = await pageState(h, { page: 2 });
    expect(p2.meterCount).toBe(250);
    expect(p2.meters.map((m) => m.id)).toEqual([...Array.from({ length: 50 }, (_, k) => 1101 + k), ...Array.from({ length: 50 }, (_, k) => 2001 + k)]);
    // each meter of the page with its newest reading, and only those
    expect(p2.meters.every((m) => m.readings.length === 1 && m.readings[0].time === 1_800_000_900 && m.readings[0].value === m.id * 10 + 900)).toBe(true);

    const html3 = await liveHtml(h, { page: 3 });
    expect(html3).toContain('<p class="pager" data-page="3" data-pages="3" data-meters="250">Page 3 of 3: meters 201 to 250 of 250. <a class="page-prev" href="?page=2">previous</a></p>');
    expect(html3).not.toContain("page-next");
    expect(html3.match(/<tr class="meter" /g)).toHaveLength(50);
    expect(html3.match(/<svg class="plot" /g)).toHaveLength(50);
    expect(html3).toContain('<h2>Meters (250)</h2>');
    const html1 = await liveHtml(h);
    expect(html1).toContain('Page 1 of 3: meters 1 to 100 of 250. <a class="page-next" href="?page=2">next</a>');
    expect(html1.match(/<svg class="plot" /g)).toHaveLength(100);
    // the concentrators table links each one's own view
    expect(html1).toContain('<a class="view-concentrator" href="?concentrator=2">2</a>');

    const c2 = await liveHtml(h, { concentrator: "2", page: 1 });
    expect(c2).toContain('Page 1 of 1: meters 1 to 100 of 100 of concentrator 2 (<a class="view-all" href="?page=1">all meters</a>).</p>');
    expect([...c2.matchAll(/<tr class="meter" data-meter="(\d+)" data-concentrator="(\d+)"/g)].every((m) => m[2] === "2")).toBe(true);
    // past the last page: nothing listed, and the way back
    const past = await liveHtml(h, { concentrator: "1", page: 9 });
    expect(past).toContain('no meters on page 9 of 2: 150 meters of concentrator 1');
    expect(past).toContain('<a class="page-prev" href="?concentrator=1&page=2">previous</a>');
    expect(past).not.toContain('<tr class="meter"');
  });

  it("reads the view from the address, and the server answers /live and /state for it", async () => {
    expect(viewOf(new URLSearchParams("page=2&concentrator=7"))).toEqual({ page: 2, concentrator: "7" });
    expect(viewOf(new URLSearchParams("page=0"))).toEqual({ page: 1 });
    expect(viewOf(new URLSearchParams("page=x"))).toEqual({ page: 1 });
    expect(viewOf(new URLSearchParams(""))).toEqual({ page: 1 });
    const { h } = network();
    const page = await startPage(h, 0, "127.0.0.1");
    closing.unshift(() => page.close());
    const live = await (await fetch(new URL("live?concentrator=1&page=2", page.url))).text();
    expect(live).toContain("Page 2 of 2: meters 101 to 150 of 150 of concentrator 1");
    const state = await (await fetch(new URL("state?page=3", page.url))).json() as { meterCount: number; meters: { id: number }[]; view: unknown };
    expect(state.meterCount).toBe(250);
    expect(state.meters.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, k) => 2051 + k));
    expect(state.view).toEqual({ page: 3 });
    // the page's script asks /live with the same query
    const whole = await (await fetch(new URL("?page=2", page.url))).text();
    expect(whole).toContain('fetch("live" + location.search');
    expect(whole).toContain("Page 2 of 3");
  });
});
