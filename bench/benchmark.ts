/*
 * npm run bench: the update method against a unicast baseline and the erasure-coding
 * lower bound, for 10, 100 and 1000 meters at 1, 5, 10 and 20% frame loss with a 64 KiB
 * image, then one 10,000-meter campaign for the host's speed. Prints the table and writes
 * docs/benchmarks.md.
 *
 *   npm run bench                      the full grid and the 10,000-meter run
 *   npm run bench -- --meters 10,100 --loss 5 --big 0 --out /tmp/b.md    a smaller run
 */
import { cpus, platform } from "node:os";
import { writeFileSync } from "node:fs";
import { P } from "../firmware/protocol/catalogue";
import { frameSizes, simulateCampaign, type SimResult } from "./campaign-sim";
import { unicastCampaign, type UnicastResult } from "./unicast";
import { imageOf } from "./image";
import { answerTimeMs } from "../firmware/concentrator/campaign";

/** ST7580 B-FSK at 9600 bit/s with its PHY overhead per frame, as the scenario bench uses. */
/** The ST7580's host link runs at 57,600 baud; the campaign's answer times are the console's (answerTimeMs). */
export const LINE = { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, processMs: 5, hostBaud: 57600, answerMs: answerTimeMs(9600, 16, 57600, P.MAX_FRAME, P.MAX_FRAME) };
export const IMAGE_SIZE = 65536;
export const BLOCK_SIZE = P.MAX_BLOCK;
/** Unanswered requests in a row before either method gives a meter up. */
export const TRIES = 10;

export interface Row {
  meters: number; loss: number; ours: SimResult; unicast: UnicastResult;
  bound: { frames: number; bytes: number; airtimeMs: number };
}

export function benchRow(meters: number, loss: number, seed: number): Row {
  const ours = simulateCampaign({ meters, loss, imageSize: IMAGE_SIZE, blockSize: BLOCK_SIZE, seed, maxNoAnswer: TRIES, ...LINE });
  const unicast = unicastCampaign(meters, ours.blockCount, loss, ours.sizes, LINE, seed, TRIES);
  const k = ours.blockCount;
  const frames = Math.ceil(k / (1 - loss));
  const air = ((LINE.overheadBytes + ours.sizes.block) * 8 * 1000) / LINE.bitRate;
  return { meters, loss, ours, unicast, bound: { frames, bytes: frames * ours.sizes.block, airtimeMs: frames * air } };
}

const fmtTime = (ms: number) => {
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} d`;
};
const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

export function tableOf(rows: Row[]): string[] {
  const out = [
    "| meters | loss | method | block frames | frames | bytes on air | airtime | polls | rounds | completion | done | airtime / bound | airtime / unicast |",
    "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const p = `${(r.loss * 100).toFixed(0)}%`;
    const o = r.ours, u = r.unicast, b = r.bound;
    out.push(`| ${r.meters} | ${p} | broadcast + poll (ours) | ${o.blocks} | ${o.frames} | ${kb(o.bytes)} | ${fmtTime(o.airtimeMs)} | ${o.polls} | ${o.rounds} | ${fmtTime(o.timeMs)} | ${o.complete}/${r.meters} | ${(o.airtimeMs / b.airtimeMs).toFixed(2)} | ${(o.airtimeMs / u.airtimeMs).toFixed(4)} |`);
    out.push(`| ${r.meters} | ${p} | unicast, block by block | ${u.blockFrames} | ${u.frames} | ${kb(u.bytes)} | ${fmtTime(u.airtimeMs)} | - | - | ${fmtTime(u.timeMs)} | ${r.meters - u.failed}/${r.meters} | ${(u.airtimeMs / b.airtimeMs).toFixed(1)} | 1 |`);
    out.push(`| ${r.meters} | ${p} | erasure bound K/(1-p) | ${b.frames} | ${b.frames} | ${kb(b.bytes)} | ${fmtTime(b.airtimeMs)} | - | - | ${fmtTime(b.airtimeMs)} | - | 1 | ${(b.airtimeMs / u.airtimeMs).toFixed(4)} |`);
  }
  return out;
}

function main(argv: string[]): void {
  const arg = (n: string) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : undefined; };
  const list = (v: string | undefined, d: number[]) => (v ? v.split(",").map(Number) : d);
  const meterList = list(arg("--meters"), [10, 100, 1000]);
  const lossList = list(arg("--loss"), [1, 5, 10, 20]).map((x) => x / 100);
  const big = Number(arg("--big") ?? 10000);
  const out = arg("--out") ?? "docs/benchmarks.md";
  const seed = Number(arg("--seed") ?? 1);
  for (const v of [...meterList, ...lossList.map((x) => x * 100), big]) {
    if (!Number.isFinite(v) || v < 0) { console.error(`bench: bad number ${v} in --meters, --loss or --big`); process.exit(2); }
  }
  if (lossList.some((p) => p >= 1)) { console.error("bench: --loss takes percentages below 100"); process.exit(2); }
  const rows: Row[] = [];
  let meterBlocks = 0, wall = 0;
  for (const n of meterList) for (const p of lossList) {
    const r = benchRow(n, p, seed);
    rows.push(r);
    meterBlocks += n * r.ours.blockCount;
    wall += r.ours.wallMs;
    process.stdout.write(`  ${n} meters, ${(p * 100).toFixed(0)}% loss: ${r.ours.complete}/${n} done in ${r.ours.rounds} rounds, ${(r.ours.wallMs / 1000).toFixed(1)} s wall\n`);
  }
  let bigRun: SimResult | null = null;
  if (big > 0) {
    process.stdout.write(`  ${big} meters, 10% loss ...\n`);
    bigRun = simulateCampaign({ meters: big, loss: 0.1, imageSize: IMAGE_SIZE, blockSize: BLOCK_SIZE, seed, maxNoAnswer: TRIES, ...LINE });
  }
  const sizes = frameSizes(imageOf(new Uint8Array(IMAGE_SIZE), { imageId: 1, version: 2, board: 1, blockSize: BLOCK_SIZE }).session);
  const table = tableOf(rows);
  console.log(table.join("\n"));
  const cpu = cpus();
  const machine = `${cpu.length} x ${cpu[0]?.model ?? "unknown CPU"}, ${platform()}, Node ${process.version}`;
  const speed = wall > 0 ? Math.round(meterBlocks / (wall / 1000)) : 0;
  const lines = [
    "# Campaign benchmark",
    "",
    "Written by `npm run bench` (bench/benchmark.ts); run it again to refresh. Every figure is from a",
    `simulation with seed ${seed}: the same seed gives the same table.`,
    "",
    "## Setup",
    "",
    `- Image: ${IMAGE_SIZE} bytes (64 KiB) in ${rows[0]?.ours.blockCount ?? Math.ceil(IMAGE_SIZE / BLOCK_SIZE)} blocks of ${BLOCK_SIZE} bytes; a data-block frame is ${sizes.block} bytes, an acknowledgement ${sizes.ack}, an update control ${sizes.control}.`,
    `- Line: ST7580 B-FSK at ${LINE.bitRate} bit/s, ${LINE.overheadBytes} bytes of PHY overhead per frame, ${LINE.turnaroundMs} ms turnaround; each frame on each link is lost independently with probability p.`,
    `- Ours: the concentrator's campaign engine (firmware/concentrator/campaign.ts) with its endpoint and codec, unchanged; an update control to each meter, the broadcast, then rounds of status queries to unfinished meters and union repair; activation and read-back. Answer timeout ${LINE.answerMs} ms. The meters are model meters (bench/model-meter.ts): the real endpoint, codec and missing-block reports over a bitmap, without flash or the UART link to the modem, which change nothing on the line.`,
    "- Unicast: a DLMS-style transfer (bench/unicast.ts), one meter after another: initiate, each block acknowledged before the next, verify, activate; a lost request or acknowledgement is retried after the timeout. Same frame sizes and line.",
    "- Erasure bound: each meter needs K blocks and receives each broadcast with probability 1 - p, so no broadcast scheme, coded or not, can do with fewer than K/(1-p) block broadcasts; no polls, no controls.",
    `- Both methods give a meter up after ${TRIES} unanswered requests in a row (the done column counts the rest).`,
    "- Airtime sums every frame on the line, both directions (frames x (overhead + length) x 8 / bit rate). Completion is virtual time from the first control to the end of the read-back.",
    "",
    "## Results",
    "",
    ...table,
    "",
    "## Reading the table",
    "",
    "- Unicast airtime grows with N (every meter gets every block); ours grows with the polls and the union of what meters miss, so the ratio to unicast falls as N grows.",
    "- Against the bound, our extra airtime is the per-meter controls, status queries and reports (a poll costs a query and a report of up to 242 bytes) plus the union-repair overhead: a block one meter misses goes to all. Union repair makes the broadcast count grow with N at a given loss; a coded repair (RepairStrategy) would bring it toward the bound.",
    "",
    "## Host speed",
    "",
    `- Machine: ${machine}.`,
    `- Grid above: ${meterBlocks.toLocaleString("en")} meter-blocks delivered in ${(wall / 1000).toFixed(1)} s of wall time: ${speed.toLocaleString("en")} simulated meter-blocks per wall second.`,
    bigRun
      ? `- ${big.toLocaleString("en")} meters, 10% loss: ${bigRun.complete.toLocaleString("en")} activated, ${bigRun.rounds} rounds, ${bigRun.polls.toLocaleString("en")} polls, ${bigRun.frames.toLocaleString("en")} frames, ${fmtTime(bigRun.airtimeMs)} of airtime, ${fmtTime(bigRun.timeMs)} of virtual time, simulated in ${(bigRun.wallMs / 1000).toFixed(1)} s of wall time on one core (${Math.round((big * bigRun.blockCount) / (bigRun.wallMs / 1000)).toLocaleString("en")} meter-blocks per wall second).`
      : "- The 10,000-meter run was skipped (--big 0).",
    "",
  ];
  writeFileSync(out, lines.join("\n"));
  if (bigRun) console.log(`${big} meters: ${bigRun.complete} activated, simulated in ${(bigRun.wallMs / 1000).toFixed(1)} s wall`);
  console.log(`bench: wrote ${out}`);
  const failed = rows.filter((r) => r.ours.code !== 0 || r.ours.complete !== r.meters);
  if (failed.length) console.log(`bench: note: in ${failed.length} campaigns some meter was given up (see the done column)`);
}

if (process.argv[1] && process.argv[1].endsWith("benchmark.ts")) main(process.argv.slice(2));
