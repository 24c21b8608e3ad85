import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchRow, bufferBlocks, limits, roomFor, smallestExchange, TRIES, LINE } from "../../bench/benchmark";
import { unicastCampaign } from "../../bench/unicast";
import { decodeSummary, interpreterSection, memorySummary, onlyGarbledReplies, type DecodeRun, type InterpreterFigures } from "../../bench/on-interpreter";
import type { MemoryFigures } from "../../bench/memory";

/** A decode run of the interpreter's figures, as decodeSummary makes it. */
const decodeRun = (run: number, wholeBlocks: number | null, more: Partial<DecodeRun> = {}): DecodeRun => ({
  run, receivedBlockMs: 1.1, receiverBlockMs: 1.1, decodeWorkMs: null, decodeWorkBlocks: null, beyondReceivingBlocks: null, wholeMs: wholeBlocks === null ? null : wholeBlocks * 1.1, wholeBlocks, completingMs: 28.4, completingBlocks: 25.8, completingVia: "repair",
  keptN: 85, keptMeanMs: 20.3, keptMaxMs: 33.6, keptMeanBlocks: 18.45, keptMaxBlocks: 30.5, concMs: 271.5, concDegree: 23, concBlocks: 246.8, conc80Ms: 950.2, conc80Degree: 79,
  missing: 85, offered: 120, kept: 85, plain: 0, cleanXors: 1431, rowXors: 1577, ...more,
});

/** Interpreter figures as a previous run would have written them (the verdicts are the section's to compute). */
const PREVIOUS: InterpreterFigures = {
  measuredAt: { date: "2026-11-30", commit: "abc1234", uncommitted: 0, machine: "2 x Test CPU, linux, Node v20.0.0" },
  builds: {
    resizable: { file: "espruino-resizable", version: "2v29", gitCommit: "6106910b8", board: "LINUXSMALL", variables: 4096, variableBytes: 27 },
    variables2756: { file: "espruino-2756", version: "2v29", gitCommit: "6106910b8", board: "LINUXSMALL", variables: 2756, variableBytes: 17 },
  },
  decode: { case: "K=310 20% rows 128", program: "ram", source: "abc1234", runs: [decodeRun(1, 1279.4), decodeRun(2, 1618.2)], worstBlocks: 1618.2, target: 200, met: false },
  decodeOriginal: { case: "K=154 10% rows 8", program: "ram", source: "abc1234", runs: [decodeRun(1, 336.3, { missing: 24, keptN: 8, concDegree: 39 })], worstBlocks: 336.3, target: null, met: null },
  memory: {
    bundle: "original", variables: 2756, atRest: 2064, atRestOriginal: 2181, plainLivePeak: 2330, plainLivePeakOriginal: 2445,
    coded: [
      { rows: 8, blocks: 100, blockSize: 200, missing: 8, decoded: true, outOfMemory: false, livePeak: 2341, livePeakOriginal: 2456, livePeakWithLayoutOriginal: 2465, withGarbagePeakOriginal: 2475 },
      { rows: 8, blocks: 184, blockSize: 204, missing: 8, decoded: true, outOfMemory: false, livePeak: 2346, livePeakOriginal: 2461, livePeakWithLayoutOriginal: 2470, withGarbagePeakOriginal: 2482 },
    ],
    worstCodedWithLayoutOriginal: 2470, target: 2480, met: true, ok: true,
  },
  bootMemory: {
    program: "ESPRUINOBOARD", chunk: 2048, chunks: 16,
    plain: { bytes: 31022, blocks: 156, tag: "DONE", appMatches: true, live: 660, withGarbage: 700, original: 760, originalWithGarbage: 800, peakIn: "a flash write" },
    packed: { bytes: 21087, blocks: 106, tag: "DONE", appMatches: true, live: 1027, withGarbage: 1090, original: 1175, originalWithGarbage: 1238, peakIn: "a decompress" },
    target: 2756, met: true, ok: true,
  },
  commands: [{ command: "npm run bench:decode -- --espruino espruino-resizable --case big --runs 2 --program ram --json FILE", wallS: 151 }],
};

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

  it("does not campaign a real bundle's image its board's buffer cannot hold (the Original's plain program), and says so", () => {
    // the Original's buffer (30 KiB, 2 KiB pages) holds 150 blocks of 200 bytes (10 a page): its plain program does not fit, its packed one does
    expect([bufferBlocks("ESPRUINOBOARD"), bufferBlocks("LINUX") >= Math.ceil(40944 / 200)]).toEqual([150, true]);
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const out = join(dir, "b.md"), json = join(dir, "b.json");
    const log = execFileSync(process.execPath, ["--import", "tsx", "bench/benchmark.ts", "--meters", "10", "--loss", "5", "--uneven", "0", "--bundles", "ESPRUINOBOARD", "--out", out, "--json", json], { encoding: "utf8" });
    expect(log).toMatch(/ESPRUINOBOARD meter plain \(\d+ bytes, \d+ blocks\): not campaigned, its buffer holds 150 blocks of 200 bytes and its meters refuse it \(UPDATE_TOO_LARGE\); it takes the packed image/);
    const md = readFileSync(out, "utf8");
    expect(md).toMatch(/- ESPRUINOBOARD meter plain .*not campaigned/);
    expect(md.split("\n").filter((l) => l.startsWith("| ESPRUINOBOARD meter | packed |")).length).toBe(2);
    expect(md.split("\n").filter((l) => l.startsWith("| ESPRUINOBOARD meter | plain |")).length).toBe(0);
  }, 120_000);

  it("writes the table, the campaigns' rows as a JSON array and the other figures to the files given; --help exits 0, a bad argument exits 2 with one line", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const out = join(dir, "b.md"), json = join(dir, "b.json"), figures = join(dir, "f.json");
    const log = execFileSync(process.execPath, ["--import", "tsx", "bench/benchmark.ts", "--meters", "10", "--loss", "5,20", "--uneven", "20", "--bundles", "LINUX", "--out", out, "--json", json, "--figures", figures], { encoding: "utf8" });
    expect(log).toContain(`bench: wrote ${out}, ${json} and ${figures}`);
    const md = readFileSync(out, "utf8");
    expect(md.split("\n").filter((l) => l.startsWith("| 10 |")).length).toBe(6);
    expect(md.split("\n").filter((l) => l.startsWith("| 20 |") && l.includes("uneven")).length).toBe(3);
    // issue 14: docs/benchmarks.json is an array of the campaigns' rows
    const rows = JSON.parse(readFileSync(json, "utf8")) as Record<string, unknown>[];
    expect(Array.isArray(rows)).toBe(true);
    const written = JSON.parse(readFileSync(figures, "utf8")) as { compression: { board: string; plain: number; packed: number; packedOverPlain: number; target: number; met: boolean }[]; interpreter: unknown };
    // every built meter bundle's compression against the 0.72 target, in the JSON as in the table
    expect(written.compression.map((c) => c.board)).toEqual(expect.arrayContaining(["ESP32", "ESPRUINOBOARD", "LINUX"]));
    for (const c of written.compression) {
      expect(c.packedOverPlain).toBeCloseTo(c.packed / c.plain, 4);
      expect([c.target, c.met]).toEqual([0.72, c.packed / c.plain <= 0.72]);
      expect(md).toContain(`| ${c.board} | ${c.plain} |`);
    }
    // the packed image's block frames against the plain one's: the LINUX bundle's coded campaign judged against 0.75
    const pf = (JSON.parse(readFileSync(figures, "utf8")) as { packedFrames: { bundle: string; method: string; plain: number; packed: number; ratio: number; target: number | null; met: boolean | null }[] }).packedFrames;
    expect(pf.map((f) => `${f.bundle} ${f.method}`)).toEqual(["LINUX meter coded", "LINUX meter patent"]);
    for (const f of pf) expect(f.ratio).toBeCloseTo(f.packed / f.plain, 4);
    expect([pf[0].target, pf[0].met, pf[1].target, pf[1].met]).toEqual([0.75, pf[0].packed / pf[0].plain <= 0.75, null, null]);
    expect(md).toContain(`Target (issue 17): the LINUX meter's coded campaign packed in at most 0.75 of the plain image's block frames: ${pf[0].packed} / ${pf[0].plain} = ${pf[0].ratio.toFixed(2)}, ${pf[0].met ? "met" : "**not met**"}.`);
    // a fresh file: no interpreter figures to keep, and the section says how to measure them
    expect(written.interpreter).toBeNull();
    expect(md).toContain("## On the interpreter\n\nNot measured yet. `npm run bench -- --espruino PATH --espruino-2756 PATH`");
    // 9 rows of the grid, then the LINUX bundle plain and packed by coded and patent
    expect(rows.length).toBe(13);
    const bundle = rows.slice(9);
    expect(bundle.map((r) => [r.image, r.compressed, r.method])).toEqual([["LINUX meter", false, "coded"], ["LINUX meter", false, "patent"], ["LINUX meter", true, "coded"], ["LINUX meter", true, "patent"]]);
    expect((bundle[2].imageBytes as number) / (bundle[0].imageBytes as number)).toBeLessThan(0.72);
    expect((bundle[2].blockFrames as number) / (bundle[0].blockFrames as number)).toBeLessThan(0.75);
    expect(bundle.every((r) => r.limitBPlainS === bundle[0].limitBS)).toBe(true);
    expect(md).toContain("## Real meter bundles, plain and packed");
    // each board's packed program at most 0.72 of the plain (issue 17's target), marked met
    for (const board of ["ESP32", "ESPRUINOBOARD", "LINUX"]) {
      const m = new RegExp(`\\| ${board} \\| \\d+ \\| \\d+ \\| \\d+ \\| (0\\.\\d{3}) met \\|`).exec(md);
      expect(m, board).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(0.72);
    }
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
    // the interpreter's two builds go together
    const one = run(["--espruino", process.execPath, "--meters", "0", "--uneven", "0", "--bundles", "0", "--out", out, "--json", json, "--figures", figures]);
    expect(one.status).toBe(2);
    expect(one.stderr.trim()).toBe("bench: --espruino and --espruino-2756 go together: the resizable build and the VARIABLES=2756 one");
  }, 120_000);

  it("without --espruino and --espruino-2756 keeps the previous interpreter figures unchanged and shows them, saying they were not re-run", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const out = join(dir, "b.md"), json = join(dir, "b.json"), figures = join(dir, "f.json");
    writeFileSync(json, JSON.stringify([{ meters: 1 }]));
    writeFileSync(figures, JSON.stringify({ compression: [], interpreter: PREVIOUS }));
    const log = execFileSync(process.execPath, ["--import", "tsx", "bench/benchmark.ts", "--meters", "10", "--loss", "5", "--uneven", "0", "--bundles", "0", "--out", out, "--json", json, "--figures", figures], { encoding: "utf8" });
    expect(log).toContain(`bench: the interpreter's figures of 2026-11-30 (commit abc1234) kept from ${figures}, not re-run`);
    expect(JSON.parse(readFileSync(figures, "utf8")).interpreter).toEqual(PREVIOUS);
    // the campaigns are this run's: 10 meters at 5% by the three methods
    expect(JSON.parse(readFileSync(json, "utf8")).map((r: { meters: number; method: string }) => `${r.meters} ${r.method}`)).toEqual(["10 coded", "10 patent", "10 unicast"]);
    const md = readFileSync(out, "utf8");
    const section = md.slice(md.indexOf("## On the interpreter"), md.indexOf("## Host speed"));
    expect(section).toContain(`Measured on 2026-11-30 at commit abc1234, on 2 x Test CPU, linux, Node v20.0.0; **not re-run** by this run of \`npm run bench\``);
    expect(section).toContain("espruino-2756 (Espruino 2v29, built from its commit 6106910b8, board LINUXSMALL, 2,756 variables of 17 bytes at start)");
    const line = (start: string) => section.split("\n").find((l) => l.startsWith(start));
    // figures from before the decoder's calls were timed: the whole decode with its frames is judged, and says so
    const was = "(whole, with its frames: measured before the decoder's calls were timed)";
    expect(line("| **the decode, received blocks**")).toBe(`| **the decode, received blocks** (the larger of the next two) | 1,279 ${was} | 1,618 ${was} | 336 ${was} | <= 200 (the worst run: 1,618) | **not met** |`);
    expect(line("| whole decode with its frames, received blocks")).toContain("| 1,279 | 1,618 | 336 |");
    expect(line("| each kept repair block's call, mean / max received blocks")).toBe("| each kept repair block's call, mean / max received blocks | 18 / 31 | 18 / 31 | 18 / 31 |  |  |");
    expect(line("| the concentrator's repair block at the campaign's degree")).toBe("| the concentrator's repair block at the campaign's degree, ms (received blocks) | 271.5 at degree 23 (247) | 271.5 at degree 23 (247) | 271.5 at degree 39 (247) |  |  |");
    expect(line("| at rest")).toBe("| at rest | 2,064 | 2,181 | | |");
    expect(line("| plain download, live peak")).toBe("| plain download, live peak | 2,330 | 2,445 | | |");
    expect(line("| coded download, 184 blocks")).toBe("| coded download, 184 blocks of 204, 8 missing, 8 rows: live peak | 2,346 | 2,461; **with layout 2,470** (2,482 counting garbage) | <= 2,480 of 2,756 | **met** |");
    expect(section).toContain("the worst of them: 2,470 against the target of 2,480: **met**.");
    expect(line("| packed")).toBe("| packed | 21,087 in 106 blocks | DONE, the plain program byte for byte | 1,027 (1,090 counting garbage) | 1,175 (1,238) | <= 2,756, both | **met** |");
  }, 120_000);

  it("computes each verdict from the figures against the issues' targets, not from the verdicts stored", () => {
    const x: InterpreterFigures = structuredClone(PREVIOUS);
    x.decode.runs = [decodeRun(1, 250, { decodeWorkBlocks: 150, beyondReceivingBlocks: 120 }), decodeRun(2, 260, { decodeWorkBlocks: 180, beyondReceivingBlocks: 199.6 })];
    x.decodeOriginal!.runs = [decodeRun(1, 40, { decodeWorkBlocks: 30, beyondReceivingBlocks: 10 })];
    x.memory.coded[1].livePeakWithLayoutOriginal = 2481; // the stored met: true is not what the section says
    x.bootMemory.packed.original = 2757;
    const md = interpreterSection(x, true, "docs/benchmarks-figures.json").join("\n");
    expect(md).toContain("Measured by this run on 2026-11-30 at commit abc1234, on 2 x Test CPU");
    expect(md).toContain("| 150 | 200 | 30 | <= 200 (the worst run: 200) | **met** |");
    expect(md).toContain("| 2,346 | 2,461; **with layout 2,481** (2,482 counting garbage) | <= 2,480 of 2,756 | **not met** |");
    expect(md).toContain("the worst of them: 2,481 against the target of 2,480: **not met**.");
    expect(md).toContain("| packed | 21,087 in 106 blocks | DONE, the plain program byte for byte | 1,027 (1,090 counting garbage) | 2,757 (1,238) | <= 2,756, both | **not met** |");
    // an out-of-memory coded download does not meet the target
    x.memory.coded[1] = { ...x.memory.coded[1], outOfMemory: true, decoded: false, livePeak: null, livePeakOriginal: null, livePeakWithLayoutOriginal: null, withGarbagePeakOriginal: null };
    expect(interpreterSection(x, true, "f").join("\n")).toContain("| coded download, 184 blocks of 204, 8 missing, 8 rows: live peak (OUT OF MEMORY) | - | -; **with layout -** (- counting garbage) | <= 2,480 of 2,756 | **not met** |");
  });

  it("summarises decode-cost's JSON: the decode work (the decoder's calls and the completing call) and the whole decode with its frames, in the run's received blocks", () => {
    const result = (blockMs: number, keptSum: number, callMs: number) => ({
      blockMs: { mean: blockMs, max: 2 * blockMs, n: 225 }, keptMs: { mean: keptSum / 85, max: 40, n: 85, sum: keptSum }, decodeCall: { ms: callMs, via: "repair" },
      concMs: { ms: 300, degree: 23, n: 120 }, conc80: { ms: 900, degree: 79 }, miss: 85, offered: 120, kept: 85, plain: 0, work: { cleanXors: 1400, rowXors: 1500 },
    });
    const j = { program: "ram", source: { commit: "0123456789abcdef", changed: ["firmware/meter/decoder.ts"] }, runs: [
      { case: "K=310 20% rows 128", run: 1, ok: true, result: result(1.25, 1700, 30) },
      { case: "K=310 20% rows 128", run: 2, ok: true, result: result(1, 1800, 25) },
    ] };
    const s = decodeSummary(j, 200);
    expect(s.runs.map((r) => [r.wholeMs, r.wholeBlocks, r.completingBlocks, r.concBlocks, r.keptMaxBlocks])).toEqual([[1730, 1384, 24, 240, 32], [1825, 1825, 25, 300, 40]]);
    expect([s.worstBlocks, s.met, s.source]).toEqual([1825, false, "0123456 + 1 changed firmware/hal files"]);
    expect(() => decodeSummary({ ...j, runs: [{ case: "c", run: 1, ok: false, failure: "out of memory in step repair" }] }, 200)).toThrow("c run 1 failed: out of memory in step repair");
    // a run through the whole meter: the received block is the DATA_BLOCK frame (frameMs), the receiver's block() beside it
    const framed = { ...j, runs: [{ case: "K=310 20% rows 128", run: 1, ok: true, result: { ...result(2, 3400, 200), frameMs: { mean: 10, max: 25, n: 225 } } }] };
    const f = decodeSummary(framed, 200);
    expect(f.runs.map((r) => [r.receivedBlockMs, r.receiverBlockMs, r.wholeMs, r.wholeBlocks, r.beyondReceivingBlocks, r.completingBlocks, r.concBlocks])).toEqual([[10, 2, 3600, 360, 274, 20, 30]]);
    expect([f.worstBlocks, f.met]).toEqual([360, false]);
    const g = decodeSummary({ ...framed, runs: [{ ...framed.runs[0], result: { ...framed.runs[0].result, frameMs: { mean: 20, max: 40, n: 225 } } }] }, 200);
    expect([g.worstBlocks, g.met]).toEqual([180, true]);
    // the decoder's own calls timed: the target counts the larger of them with the completing call (the decode work)
    // and the whole decode less receiving its frames (a received block each); not the frames' receiving and storing
    const timed = (keptSum: number, decoderSum: number) => decodeSummary({ ...framed, runs: [{ ...framed.runs[0], result: { ...framed.runs[0].result, keptMs: { mean: keptSum / 85, max: 40, n: 85, sum: keptSum }, decoderMs: { sum: decoderSum, n: 85 } } }] }, 200);
    const h = timed(2500, 1600);
    expect(h.runs.map((r) => [r.decodeWorkMs, r.decodeWorkBlocks, r.wholeBlocks, r.beyondReceivingBlocks])).toEqual([[1800, 180, 270, 184]]);
    expect([h.worstBlocks, h.met]).toEqual([184, true]);
    const over = timed(2500, 1900);
    expect([over.worstBlocks, over.met]).toEqual([210, false]);
    // the whole decode less receiving its frames counts when it is the larger
    const beyond = timed(2550, 900);
    expect(beyond.runs.map((r) => [r.decodeWorkBlocks, r.beyondReceivingBlocks, r.wholeBlocks])).toEqual([[110, 189, 275]]);
    expect([beyond.worstBlocks, beyond.met]).toEqual([189, true]);
    const beyondOver = timed(2975, 900);
    expect([beyondOver.worstBlocks, beyondOver.met]).toEqual([231.5, false]);
  });

  it("summarises memory.ts's JSON (the worst coded peak with layout against 2,480) and runs it again only for garbled replies", () => {
    const coded = (peak: number | null, more: Partial<MemoryFigures["coded"][number]> = {}): MemoryFigures["coded"][number] => ({
      rows: 8, blocks: 184, blockSize: 204, missing: 8, spare: 8, keepsRepairRows: true, repairsSent: 8, repairsKept: 8, frames: 302, outOfMemory: false, decoded: true, replies: 16, wrong: [], threw: null, errorFlags: "",
      liveAfterFrames: 154, withGarbageAfterFrames: 205, liveInFlash: 280, withGarbageInFlash: 294, livePeakHere: 2354, withGarbagePeakHere: 2368, blockBuffers: 3, layoutMore: 9,
      livePeakOriginal: peak === null ? null : peak - 9, withGarbagePeakOriginal: 2475, livePeakWithLayoutOriginal: peak, oom: null, ...more,
    });
    const m: MemoryFigures = {
      bundle: "original", program: "p.js", programBytes: 1, espruino: "/x/espruino-2756", variables: 2756, variableBytes: 17, atRest: 2074, errorFlags: "", recosted: true, atRestDump: 2064, atRestOriginal: 2181,
      plain: { frames: 114, base: 2189, hookCost: [17, 18], liveAfterFrames: 185, liveInFlash: 264, withGarbageAfterFrames: 206, withGarbageInFlash: 264, livePeakOriginal: 2445, withGarbagePeakOriginal: 2445 },
      coded: [coded(2465), coded(2470)], originalVariables: 2756, target: 2480, ok: true,
    };
    const s = memorySummary(m);
    expect([s.atRest, s.atRestOriginal, s.plainLivePeak, s.plainLivePeakOriginal, s.worstCodedWithLayoutOriginal, s.met]).toEqual([2074, 2181, 2074 + 264, 2445, 2470, true]);
    expect(memorySummary({ ...m, coded: [coded(2465), coded(2481)] }).met).toBe(false);
    expect(memorySummary({ ...m, coded: [coded(2465), coded(null, { outOfMemory: true, decoded: false })] })).toMatchObject({ worstCodedWithLayoutOriginal: null, met: false });
    expect(onlyGarbledReplies(m)).toBe(false);
    expect(onlyGarbledReplies({ ...m, ok: false, coded: [coded(2465, { wrong: ["14 replies, expected 16"] }), coded(2470)] })).toBe(true);
    expect(onlyGarbledReplies({ ...m, ok: false, coded: [coded(2465, { wrong: ["reply 3: missing"], errorFlags: "MEMORY" }), coded(2470)] })).toBe(false);
    expect(onlyGarbledReplies({ ...m, ok: false, coded: [coded(null, { wrong: ["reply 3: missing"], outOfMemory: true, decoded: false }), coded(2470)] })).toBe(false);
  });
});
