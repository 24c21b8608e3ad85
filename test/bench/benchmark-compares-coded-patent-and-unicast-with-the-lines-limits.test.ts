import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchRow, limits, roomFor, smallestExchange, TRIES, LINE } from "../../bench/benchmark";
import { unicastCampaign } from "../../bench/unicast";

describe("the campaign benchmark", () => {
  it("runs both methods of the real campaign engine to completion; the coded one takes less airtime, and neither beats limit (a)", () => {
    const coded = benchRow(10, 5, "coded", 3), patent = benchRow(10, 5, "patent", 3);
    for (const r of [coded, patent]) {
      expect(r.done).toBe(10);
      expect(r.blockFrames).toBeGreaterThanOrEqual(310); // 64 KiB in 212-byte blocks
      expect(r.airtimeS).toBeGreaterThan(r.limitAS);
      expect(r.limitAS).toBeCloseTo(limits(10, 0.05, 310, 230).aS, 6);
    }
    expect(coded.airtimeS).toBeLessThan(patent.airtimeS);
    // the patent's method asks each unfinished meter; the coded one asks the group once a round
    expect(patent.polls).toBeGreaterThanOrEqual(10);
    expect(coded.polls).toBeLessThan(patent.polls);
    // every meter decoded with the meter's decoder, within the room of the board it models
    expect(coded.decode!.missing).toBeGreaterThan(0);
    expect(coded.decode!.missing).toBeLessThanOrEqual(roomFor(310).rows);
  });

  it("computes the limits: (a) ceil(K / (1 - p)) block frames; (b) adds one smallest exchange per meter over (1 - p)^2", () => {
    const x = smallestExchange();
    expect(x).toEqual({ query: 14, reply: 17 });
    const air = (n: number) => ((16 + n) * 8000) / 9600;
    const l = limits(1000, 0.1, 310, 230);
    expect(l.aFrames).toBe(345);
    expect(l.aS).toBeCloseTo((345 * air(230)) / 1000, 9);
    expect(l.bS).toBeCloseTo(l.aS + (1000 * (air(14) + 5 + air(17))) / 0.81 / 1000, 9);
    expect(LINE.answerMs).toBeGreaterThan(air(242));
  });

  it("counts unicast retries: with no loss exactly two frames per exchange, with total loss every meter is given up", () => {
    const f = { block: 230, ack: 17, control: 67 };
    const line = { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, processMs: 5, answerMs: 500 };
    const clean = unicastCampaign(3, 10, 0, f, line, 1, TRIES);
    expect(clean.frames).toBe(3 * 2 * 13);
    expect(clean.bytes).toBe(3 * (10 * (230 + 17) + 3 * (67 + 17)));
    expect(clean.failed).toBe(0);
    const dead = unicastCampaign(3, 10, 1 - 1e-12, f, line, 1, TRIES);
    expect(dead.failed).toBe(3);
    expect(dead.frames).toBe(3 * TRIES);
  });

  it("writes the table and the JSON rows to the files given; --help exits 0, a bad argument exits 2 with one line", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const out = join(dir, "b.md"), json = join(dir, "b.json");
    const log = execFileSync(process.execPath, ["--import", "tsx", "bench/benchmark.ts", "--meters", "10", "--loss", "5,20", "--uneven", "20", "--bundles", "LINUX", "--out", out, "--json", json], { encoding: "utf8" });
    expect(log).toContain(`bench: wrote ${out} and ${json}`);
    const md = readFileSync(out, "utf8");
    expect(md.split("\n").filter((l) => l.startsWith("| 10 |")).length).toBe(6);
    expect(md.split("\n").filter((l) => l.startsWith("| 20 |") && l.includes("uneven")).length).toBe(3);
    const rows = JSON.parse(readFileSync(json, "utf8")) as Record<string, unknown>[];
    // 9 rows of the grid, then the LINUX bundle plain and packed by coded and patent
    expect(rows.length).toBe(13);
    const bundle = rows.slice(9);
    expect(bundle.map((r) => [r.image, r.compressed, r.method])).toEqual([["LINUX meter", false, "coded"], ["LINUX meter", false, "patent"], ["LINUX meter", true, "coded"], ["LINUX meter", true, "patent"]]);
    expect((bundle[2].imageBytes as number) / (bundle[0].imageBytes as number)).toBeLessThan(0.72);
    expect((bundle[2].blockFrames as number) / (bundle[0].blockFrames as number)).toBeLessThan(0.75);
    expect(bundle.every((r) => r.limitBPlainS === bundle[0].limitBS)).toBe(true);
    expect(md).toContain("## Real meter bundles, plain and packed");
    for (const board of ["ESP32", "ESPRUINOBOARD", "LINUX"]) expect(md).toMatch(new RegExp(`\\| ${board} \\| \\d+ \\| \\d+ \\| \\d+ \\| 0\\.6\\d\\d \\|`));
    for (const r of rows) {
      for (const k of ["meters", "lossPct", "scenario", "method", "airtimeS", "completionS", "limitAS", "limitBS", "blockFrames", "polls", "done"]) expect(r, k).toHaveProperty(k);
      expect(["uniform", "uneven"]).toContain(r.scenario);
      expect(["coded", "patent", "unicast"]).toContain(r.method);
    }
    expect(rows.filter((r) => r.scenario === "uneven").every((r) => typeof r.limitBWorstS === "number" && (r.limitBWorstS as number) > (r.limitBS as number))).toBe(true);
    const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "bench/benchmark.ts", ...args], { encoding: "utf8" });
    const help = run(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("usage: npm run bench");
    const bad = run(["--loss", "100"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('bench: --loss must be a whole number from 0 to 99, got "100"');
    expect(run(["--frobnicate"]).status).toBe(2);
  }, 120_000);
});
