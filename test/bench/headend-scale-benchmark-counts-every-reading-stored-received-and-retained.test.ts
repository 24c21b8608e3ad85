/*
 * The head-end's scale benchmark (bench/headend-scale.ts) on a small run: its counts are the
 * database's rows and the subscriber's messages, every generated reading once, and the
 * simulated concentrators' exports are what the firmware prints. No speed is checked here:
 * the benchmark prints its figures (docs/headend.md, Scale).
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { runScale, SimulatedConcentrator } from "../../bench/headend-scale";
import { parseExport } from "../../tools/headend/core";

describe("npm run bench:headend's counting", () => {
  it("a simulated concentrator exports its meters' 15-minute intervals as the firmware prints them, by position, in batches", async () => {
    const c = new SimulatedConcentrator(4, 3, 2);
    expect((await c.command("meterline.config.id")).value).toBe("4");
    const a = await c.command('meterline.export("json",1,4)');
    expect(a.value).toBe("5");
    expect(a.lines[0]).toBe('{"pos":1,"meter":400002,"obis":"1-0:1.29.0","value":' + (100 + ((400002 * 7) % 400)) + ',"unit":"Wh","time":1800000000,"status":0}');
    const rows = parseExport(a.lines, 1);
    expect(rows.map((r) => [r.pos, r.meter, r.time])).toEqual([[1, 400002, 1_800_000_000], [2, 400003, 1_800_000_000], [3, 400001, 1_800_000_900], [4, 400002, 1_800_000_900]]);
    expect((await c.command('meterline.export("json",6,4)')).value).toBe("6"); // the end: nothing more
    expect((await c.command("meterline.ack(6)")).value).toBe("0");
    expect(c.store.acked()).toBe(6);
    expect((await c.command("meterline.nothing()")).error).toMatch(/^Uncaught Error: the simulated concentrator does not answer/);
  });

  it("every reading is stored once and received once by the subscriber, one retained a register, in batches that end short", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "scale-")), "h.db");
    const r = await runScale({ concentrators: 3, meters: 20, intervals: 5, batch: 7, db });
    expect(r).toMatchObject({ readings: 300, stored: 300, received: 300, retained: 60 });
    // readings a second: the count over the seconds (those printed to the millisecond)
    expect(r.storedPerS / (300 / r.storedS)).toBeCloseTo(1, 1);
    expect(r.endToEndPerS / (300 / r.endToEndS)).toBeCloseTo(1, 1);
    expect(r.endToEndS).toBeGreaterThan(0);
    expect(r.dbS).toBeGreaterThan(0);
    expect(r.dbS).toBeLessThan(r.storedS);
    const d = new Database(db, { readonly: true });
    try {
      expect(d.prepare("SELECT concentrator, count(*) AS n, count(DISTINCT meter) AS m FROM readings GROUP BY concentrator ORDER BY concentrator").all()).toEqual(
        [1, 2, 3].map((c) => ({ concentrator: String(c), n: 100, m: 20 })));
      // the values the concentrator held, after the head-end's parse and store
      const row = d.prepare("SELECT value, unit, time FROM readings WHERE meter = 200007 AND time = ?").get(1_800_000_000 + 3 * 900);
      expect(row).toEqual({ value: 100 + ((200007 * 7 + 3 * 13) % 400), unit: "Wh", time: 1_800_000_000 + 3 * 900 });
      // each concentrator's cursor at its store's end: acknowledged to the end
      expect(d.prepare("SELECT concentrator, next FROM cursors ORDER BY concentrator").all()).toEqual([1, 2, 3].map((c) => ({ concentrator: String(c), next: 100 })));
    } finally {
      d.close();
    }
  }, 60_000);
});
