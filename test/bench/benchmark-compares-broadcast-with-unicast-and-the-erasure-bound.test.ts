import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchRow, TRIES } from "../../bench/benchmark";
import { unicastCampaign } from "../../bench/unicast";

describe("the campaign benchmark", () => {
  it("runs the real campaign engine to completion and lands between the erasure bound and unicast", () => {
    const r = benchRow(10, 0.05, 3);
    const k = r.ours.blockCount;
    expect(k).toBe(310); // 64 KiB in 212-byte blocks
    expect(r.ours.code).toBe(0);
    expect(r.ours.complete).toBe(10);
    // the bound: ceil(K / (1 - p)) block broadcasts and nothing else
    expect(r.bound.frames).toBe(Math.ceil(310 / 0.95));
    expect(r.ours.blocks).toBeGreaterThanOrEqual(k);
    expect(r.ours.blocks).toBeGreaterThanOrEqual(r.bound.frames * 0.9);
    expect(r.ours.airtimeMs).toBeGreaterThan(r.bound.airtimeMs);
    // unicast sends every block to every meter, each acknowledged
    expect(r.unicast.blockFrames).toBeGreaterThanOrEqual(10 * k);
    expect(r.unicast.frames).toBeGreaterThanOrEqual(2 * 10 * (k + 3));
    expect(r.ours.airtimeMs).toBeLessThan(r.unicast.airtimeMs / 3);
    // only unfinished meters are polled: at most one poll per meter per round
    expect(r.ours.polls).toBeLessThanOrEqual(10 * r.ours.rounds);
    expect(r.ours.polls).toBeGreaterThanOrEqual(10);
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

  it("writes the table to the file given", () => {
    const out = join(mkdtempSync(join(tmpdir(), "bench-")), "b.md");
    const log = execFileSync(process.execPath, ["--import", "tsx", "bench/benchmark.ts", "--meters", "10", "--loss", "5,20", "--big", "0", "--out", out], { encoding: "utf8" });
    expect(log).toContain(`bench: wrote ${out}`);
    const md = readFileSync(out, "utf8");
    const rows = md.split("\n").filter((l) => l.startsWith("| 10 |"));
    expect(rows.length).toBe(6);
    expect(rows.filter((l) => l.includes("broadcast + poll (ours)")).every((l) => l.includes("| 10/10 |"))).toBe(true);
    expect(md).toContain("simulated meter-blocks per wall second");
    const bad = (() => { try { execFileSync(process.execPath, ["--import", "tsx", "bench/benchmark.ts", "--loss", "100"], { encoding: "utf8", stdio: "pipe" }); return ""; } catch (e) { return String((e as { stderr: string }).stderr); } })();
    expect(bad).toContain("--loss takes percentages below 100");
  }, 60_000);
});
