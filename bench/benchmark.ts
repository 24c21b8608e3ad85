/*
 * npm run bench: the update campaign's two methods (the coded method, the default, and
 * the patent's per-meter polls with union repair) and a DLMS-style unicast baseline, against
 * the line's limits, for 10 to 10,000 meters at 1, 5, 10 and 20% frame loss with a 64 KiB
 * image, plus an uneven line (a few meters on bad links). Prints the table and writes
 * docs/benchmarks.md, docs/benchmarks.json (the campaigns' rows: an array, as issue 14 asks) and
 * docs/benchmarks-figures.json ({ compression: [bundles], packedFrames, interpreter: {...} }).
 * With --espruino and --espruino-2756 it first measures on the real interpreter
 * (bench/on-interpreter.ts: the decode's cost, the meter's and the boot routine's memory);
 * without them it carries the previous --json file's interpreter figures over unchanged.
 *
 *   npm run bench                                         the whole grid (a few minutes)
 *   npm run bench -- --meters 10,100 --loss 5 --uneven 0 --out /tmp/b.md --json /tmp/b.json
 *   npm run bench -- --espruino PATH --espruino-2756 PATH also the interpreter's figures (about 5 minutes more)
 */
import { cpus, platform } from "node:os";
import { cli, int, intList, interpreter as checkInterpreter, isMain, oneOf, outputFolder, UsageError, writeOutput, type Parsed, type Tool } from "../tools/cli/cli";
import { P, T } from "../firmware/protocol/catalogue";
import { encodeMsg, newMsg, setMsg } from "../firmware/protocol/codec";
import { bufferLayout } from "../firmware/common/update-image";
import { answerTimeMs, PROGRAM_MS, REBOOT_WAIT_MS, SMALL_REPLY } from "../firmware/concentrator/campaign";
import { loadProfile } from "../tools/profiles/profiles";
import { frameSizes, simulateCampaign, type SimResult } from "./campaign-sim";
import { unicastCampaign } from "./unicast";
import { imageOf } from "./image";
import { packedImage, packImage } from "../tools/image/image";
import { compress } from "../tools/image/heatshrink";
import { existsSync, readdirSync } from "node:fs";
import type { ModelRoom } from "./model-meter";
import { interpreterSection, measureOnInterpreter, previousInterpreter, type InterpreterFigures } from "./on-interpreter";
import { resolve } from "node:path";

/**
 * ST7580 at 9,600 bit/s with its PHY overhead per frame, as the scenario bench uses; the
 * modem's host link at 57,600 baud. The campaign's timing is the console's: answer times
 * from answerTimeMs (answerMs below is its longest, for a full frame each way) and the
 * reboot wait REBOOT_WAIT_MS.
 */
export const LINE = { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, processMs: 5, hostBaud: 57600, answerMs: answerTimeMs(9600, 16, 57600, P.MAX_FRAME, P.MAX_FRAME) };
export const IMAGE_SIZE = 65536;
export const BLOCK_SIZE = P.MAX_BLOCK;
/** Unanswered requests in a row before either method gives a meter up. */
export const TRIES = 10;
/** The meters' board for the coded method: one with room for a 64 KiB image and its repair blocks. */
export const ROOM_BOARD = "ESP32";
/** The uneven line: this share of the meters loses BAD_LOSS of frames, the rest GOOD_LOSS. */
export const UNEVEN = { share: 0.05, badLoss: 0.3, goodLoss: 0.05 };

export type Method = "coded" | "patent" | "unicast";

export interface Row {
  meters: number; lossPct: number; scenario: "uniform" | "uneven"; method: Method;
  airtimeS: number; completionS: number; limitAS: number; limitBS: number;
  blockFrames: number; polls: number; done: number;
  /** Uneven line: the worst class's loss, and the limits computed with it. */
  worstLossPct?: number; limitAWorstS?: number; limitBWorstS?: number;
  /** Coded: the worst meter's decode, in block XORs (cleaning from flash, elimination in RAM), and its missing blocks. */
  decode?: { cleanXors: number; rowXors: number; missing: number };
  wallS: number;
  /** The image: bytes that travel; for a real meter bundle its name, whether it is packed, and limit (b) of its plain image. */
  imageBytes: number;
  image?: string;
  compressed?: boolean;
  limitBPlainS?: number;
}

/** A real meter bundle's image for benchRow: its board, whether packed, bytes that travel and its plain payload's. */
export interface BenchImage { board: string; compressed: boolean; bytes: number; plainBytes: number }
/**
 * The real bundles' block size: `npm run image`'s default, the one their images ship with.
 * (At 212 a LINUX buffer's 1 KiB units hold 4 slots each, 192 in all, and the plain LINUX
 * bundle of 40,746 bytes needs 193: its meters would refuse it.)
 */
export const IMAGE_BLOCK = 200;

/** Airtime of a frame of `len` bytes on the line. */
function airMs(len: number): number {
  return ((LINE.overheadBytes + len) * 8 * 1000) / LINE.bitRate;
}

/** The smallest request a meter answers (an empty body) and the smallest answer (ACK), as encoded. */
export function smallestExchange(): { query: number; reply: number } {
  const out = new Uint8Array(P.MAX_FRAME), m = newMsg();
  return {
    query: encodeMsg(setMsg(m, T.STATUS_REQ, 1, P.BROADCAST_ID, P.TO_METER, 1, {}), out),
    reply: encodeMsg(setMsg(m, T.ACK, 1, 1, P.TO_METER, P.BROADCAST_ID, { refType: T.STATUS_REQ, refSeq: 1 }), out),
  };
}

/**
 * The line's limits for `meters` meters at loss p and K blocks of `blockFrame` bytes on
 * the line: (a) every meter keeps K of the ceil(K / (1 - p)) block frames broadcast; (b)
 * also one smallest confirmed exchange per meter, divided by (1 - p)^2 for retries.
 */
export function limits(meters: number, p: number, k: number, blockFrame: number): { aFrames: number; aS: number; bS: number } {
  const x = smallestExchange();
  const aFrames = Math.ceil(k / (1 - p));
  const aS = (aFrames * airMs(blockFrame)) / 1000;
  const perMeter = (airMs(x.query) + LINE.turnaroundMs + airMs(x.reply)) / (1 - p) ** 2;
  return { aFrames, aS, bS: aS + (meters * perMeter) / 1000 };
}

/** The coded method's meters: spare slots after the image in the board's buffer (the ESP32's unless named), and its decoder rows. */
export function roomFor(blockCount: number, board = ROOM_BOARD, blockSize: number = BLOCK_SIZE): ModelRoom {
  return { spareSlots: bufferBlocks(board, blockSize) - blockCount, rows: loadProfile(board).repairRows };
}

/** How many blocks of `blockSize` a board's update buffer holds (its slots with their marks, erase unit by unit). */
export function bufferBlocks(board: string, blockSize: number = IMAGE_BLOCK): number {
  const b = loadProfile(board);
  return bufferLayout(b.regions.buffer!.addr, b.regions.buffer!.size, b.flash.eraseUnits[0].size, blockSize).capacity;
}

/** One campaign of `method` on the simulated line. */
export function benchRow(meters: number, lossPct: number, method: Method, seed: number, scenario: "uniform" | "uneven" = "uniform", image?: BenchImage): Row {
  const uneven = scenario === "uneven";
  const p = uneven ? UNEVEN.goodLoss * (1 - UNEVEN.share) + UNEVEN.badLoss * UNEVEN.share : lossPct / 100;
  const size = image ? image.bytes : IMAGE_SIZE, bs = image ? IMAGE_BLOCK : BLOCK_SIZE;
  const base = { meters, loss: uneven ? UNEVEN.goodLoss : p, imageSize: size, blockSize: bs, seed, maxNoAnswer: TRIES, ...LINE, rebootMs: REBOOT_WAIT_MS, group: 1 };
  const k = Math.ceil(size / bs);
  const sizes = frameSizes(imageOf(new Uint8Array(size), { imageId: 1, version: 2, board: 1, blockSize: bs }).session);
  const lim = limits(meters, p, k, sizes.block);
  const row: Row = {
    meters, lossPct: Math.round(p * 10000) / 100, scenario, method, airtimeS: 0, completionS: 0, limitAS: lim.aS, limitBS: lim.bS,
    blockFrames: 0, polls: 0, done: 0, wallS: 0, imageBytes: size,
  };
  if (image) {
    row.image = `${image.board} meter`;
    row.compressed = image.compressed;
    row.limitBPlainS = limits(meters, p, Math.ceil(image.plainBytes / bs), sizes.block).bS;
  }
  if (uneven) {
    const w = limits(meters, UNEVEN.badLoss, k, sizes.block);
    row.worstLossPct = UNEVEN.badLoss * 100;
    row.limitAWorstS = w.aS;
    row.limitBWorstS = w.bS;
  }
  if (method === "unicast") {
    const t0 = performance.now();
    const part = (n: number, q: number, s: number) => unicastCampaign(n, k, q, sizes, LINE, s, TRIES);
    const bad = uneven ? Math.round(meters * UNEVEN.share) : 0;
    const rs = uneven ? [part(meters - bad, UNEVEN.goodLoss, seed), part(bad, UNEVEN.badLoss, seed + 1)] : [part(meters, p, seed)];
    for (const u of rs) {
      row.airtimeS += u.airtimeMs / 1000;
      row.completionS += u.timeMs / 1000;
      row.blockFrames += u.blockFrames;
    }
    row.done = meters - rs.reduce((a, u) => a + u.failed, 0);
    row.wallS = (performance.now() - t0) / 1000;
    return row;
  }
  const coded = method === "coded";
  const r: SimResult = simulateCampaign({
    ...base, coded, room: coded ? roomFor(k, image ? image.board : ROOM_BOARD, bs) : undefined,
    bad: uneven ? { share: UNEVEN.share, loss: UNEVEN.badLoss } : undefined,
    // the concentrator plans for the mean loss of its line
    planLoss: p,
  });
  row.airtimeS = r.airtimeMs / 1000;
  row.completionS = r.timeMs / 1000;
  row.blockFrames = r.blocks;
  row.polls = r.polls;
  row.done = r.complete;
  row.wallS = r.wallMs / 1000;
  if (coded) row.decode = r.worstDecode;
  return row;
}

const fmtTime = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} d`);

export function tableOf(rows: Row[]): string[] {
  const out = [
    "| meters | loss | line | method | block frames | polls | airtime | completion | done | limit (a) | limit (b) | airtime / (a) | airtime / (b) | worst decode (block XORs) |",
    "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const line = r.scenario === "uneven" ? `uneven (${UNEVEN.share * 100}% at ${UNEVEN.badLoss * 100}%)` : "uniform";
    const limA = r.scenario === "uneven" ? `${fmtTime(r.limitAS)}; worst ${fmtTime(r.limitAWorstS!)}` : fmtTime(r.limitAS);
    const limB = r.scenario === "uneven" ? `${fmtTime(r.limitBS)}; worst ${fmtTime(r.limitBWorstS!)}` : fmtTime(r.limitBS);
    const ratB = r.scenario === "uneven" ? `${(r.airtimeS / r.limitBS).toFixed(2)}; worst ${(r.airtimeS / r.limitBWorstS!).toFixed(2)}` : (r.airtimeS / r.limitBS).toFixed(2);
    const dec = r.decode && r.decode.missing ? `${r.decode.cleanXors} + ${r.decode.rowXors} (${r.decode.missing} missing)` : "-";
    out.push(`| ${r.meters} | ${r.lossPct}% | ${line} | ${r.method} | ${r.blockFrames} | ${r.method === "unicast" ? "-" : r.polls} | ${fmtTime(r.airtimeS)} | ${fmtTime(r.completionS)} | ${r.done}/${r.meters} | ${limA} | ${limB} | ${(r.airtimeS / r.limitAS).toFixed(2)} | ${ratB} | ${dec} |`);
  }
  return out;
}

/** The real bundles' rows: each bundle plain and packed, side by side, against limit (b) of its plain image. */
export function bundleTableOf(rows: Row[]): string[] {
  const out = [
    "| bundle | image | bytes | blocks | method | block frames | packed / plain block frames | airtime | completion | done | limit (b), plain image | airtime / (b) plain |",
    "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const plain = rows.find((q) => q.image === r.image && q.method === r.method && !q.compressed);
    const ratio = r.compressed && plain ? (r.blockFrames / plain.blockFrames).toFixed(2) : "-";
    out.push(`| ${r.image} | ${r.compressed ? "packed" : "plain"} | ${r.imageBytes} | ${Math.ceil(r.imageBytes / IMAGE_BLOCK)} | ${r.method} | ${r.blockFrames} | ${ratio} | ${fmtTime(r.airtimeS)} | ${fmtTime(r.completionS)} | ${r.done}/${r.meters} | ${fmtTime(r.limitBPlainS!)} | ${(r.airtimeS / r.limitBPlainS!).toFixed(2)} |`);
  }
  return out;
}

/** Issue 17: each shipped meter bundle packed to at most this share of its plain size. */
export const COMPRESSION_TARGET = 0.72;
/** Issue 17: the LINUX meter bundle's coded campaign (1,000 meters, 10% loss) packed in at most this share of the plain image's block frames. */
export const PACKED_FRAMES_TARGET = 0.75;

/** The packed rows' block frames against the plain image's, same bundle and method; `target` on the LINUX bundle's coded campaign. */
export function packedFramesOf(rows: Row[]): { bundle: string; method: string; plain: number; packed: number; ratio: number; target: number | null; met: boolean | null }[] {
  // (a bundle whose plain image was not campaigned has nothing to compare its packed one with)
  return rows.filter((r) => r.compressed && rows.some((q) => q.image === r.image && q.method === r.method && !q.compressed)).map((r) => {
    const plain = rows.find((q) => q.image === r.image && q.method === r.method && !q.compressed)!;
    const ratio = r.blockFrames / plain.blockFrames, judged = r.image === "LINUX meter" && r.method === "coded";
    return { bundle: r.image!, method: r.method, plain: plain.blockFrames, packed: r.blockFrames, ratio: +ratio.toFixed(4), target: judged ? PACKED_FRAMES_TARGET : null, met: judged ? ratio <= PACKED_FRAMES_TARGET : null };
  });
}

/** Every shipped meter bundle's compression: its plain payload, packed in its board's chunks, and compressed whole. */
export function compressionOf(dist = "dist"): { board: string; plain: number; packed: number; chunk: number; whole: number }[] {
  return readdirSync(dist).filter((b) => existsSync(`${dist}/${b}/meter.js`)).sort().map((board) => {
    const plain = packImage(board, 2, dist);
    return { board, plain: plain.length, packed: packedImage(plain, board, 2, IMAGE_BLOCK).length, chunk: loadProfile(board).packChunk, whole: compress(plain).length };
  });
}

export const TOOL: Tool = {
  name: "bench", run: "npm run bench --",
  about: "The update campaign's two methods (coded, patent) and a DLMS-style unicast baseline against the\nline's limits, simulated, for a grid of meter counts and frame losses with a 64 KiB image, plus an\nuneven line. Prints the table and writes the Markdown and JSON reports.",
  options: {
    meters: { type: "string", value: "LIST", default: "10,100,1000,10000", help: "meter counts, comma-separated (0: none)" },
    loss: { type: "string", value: "LIST", default: "1,5,10,20", help: "frame loss percentages, comma-separated (0: none)" },
    uneven: { type: "string", value: "LIST", default: "1000", help: "meter counts for the uneven line (0: none)" },
    methods: { type: "string", value: "LIST", default: "coded,patent,unicast", help: "which of coded, patent and unicast" },
    seed: { type: "string", value: "S", default: "1", help: "the simulation's seed" },
    out: { type: "string", value: "FILE", default: "docs/benchmarks.md", help: "the Markdown report" },
    json: { type: "string", value: "FILE", default: "docs/benchmarks.json", help: "the JSON of the campaigns: an array of rows" },
    figures: { type: "string", value: "FILE", default: "docs/benchmarks-figures.json", help: "the JSON of the other figures: compression, packed frames, the interpreter's" },
    bundles: { type: "string", value: "LIST", default: "LINUX,ESPRUINOBOARD", help: "real meter bundles (dist/<BOARD>/meter.js, npm run build first) campaigned plain and packed, coded and patent, at 1,000 meters and 10% loss (0: none)" },
    espruino: { type: "string", value: "PATH", help: "an Espruino 2v29 Linux build (default resizable variables); with --espruino-2756 the bench also measures on the interpreter (about 5 min more); without both it keeps the --figures file's interpreter figures" },
    "espruino-2756": { type: "string", value: "PATH", help: "an Espruino 2v29 Linux build with VARIABLES=2756 (the Original's), with --espruino" },
  },
  examples: ["npm run bench", "npm run bench -- --meters 10,100 --loss 5 --uneven 0 --out /tmp/b.md --json /tmp/b.json --figures /tmp/f.json", "npm run bench -- --espruino ~/espruino --espruino-2756 ~/espruino-2756"],
};

/** A list option; "0" or nothing is the empty list. */
const list = (v: string, name: string, lo: number, hi: number): number[] => (v === "0" || v === "" ? [] : intList(`--${name}`, v, lo, hi));

function main({ values: o }: Parsed): void {
  const meterList = list(o.meters as string, "meters", 1, 100000);
  const lossList = list(o.loss as string, "loss", 0, 99);
  const unevenList = list(o.uneven as string, "uneven", 1, 100000);
  const methods = (o.methods as string).split(",").map((m) => oneOf("--methods", m, ["coded", "patent", "unicast"] as const));
  const seed = int("--seed", o.seed as string, 0, 0xffffffff)!;
  outputFolder("--out", o.out as string);
  outputFolder("--json", o.json as string);
  outputFolder("--figures", o.figures as string);
  const esp = o.espruino as string | undefined, esp2756 = o["espruino-2756"] as string | undefined;
  if (!esp !== !esp2756) throw new UsageError("--espruino and --espruino-2756 go together: the resizable build and the VARIABLES=2756 one");
  if (esp) checkInterpreter("--espruino", esp);
  if (esp2756) checkInterpreter("--espruino-2756", esp2756);
  // the interpreter first: its timings want a quiet host, and a failure costs no simulation
  const rerun = !!esp;
  const interpreter: InterpreterFigures | null = esp ? measureOnInterpreter(resolve(esp), resolve(esp2756!)) : previousInterpreter(o.figures as string);
  if (!esp) console.log(interpreter ? `bench: the interpreter's figures of ${interpreter.measuredAt.date} (commit ${interpreter.measuredAt.commit}) kept from ${o.figures}, not re-run (--espruino and --espruino-2756 measure them)` : `bench: no interpreter figures in ${o.figures}: --espruino and --espruino-2756 measure them`);
  const rows: Row[] = [];
  const run = (n: number, pct: number, scenario: "uniform" | "uneven") => {
    for (const m of methods) {
      const r = benchRow(n, pct, m, seed, scenario);
      rows.push(r);
      process.stdout.write(`  ${n} meters, ${scenario === "uneven" ? "uneven line" : `${pct}% loss`}, ${m}: ${r.done}/${n} done, ${fmtTime(r.airtimeS)} on air (${(r.airtimeS / r.limitBS).toFixed(2)} x limit b), ${fmtTime(r.completionS)}, ${r.wallS.toFixed(1)} s wall\n`);
    }
  };
  for (const n of meterList) for (const pct of lossList) run(n, pct, "uniform");
  for (const n of unevenList) run(n, 0, "uneven");
  // every built meter bundle, plain and packed; those named by --bundles campaigned both
  // ways at 1,000 meters and 10% loss
  const ratios = compressionOf();
  const bundleRows: Row[] = [], notSent: string[] = [];
  const bundles = (o.bundles as string) === "0" ? [] : (o.bundles as string).split(",");
  for (const board of bundles) {
    const c = ratios.find((x) => x.board === board);
    // (not among the built bundles: packImage says why, a board without the meter role or no bundle)
    if (!c) packImage(board, 2);
    const { plain, packed } = c!;
    for (const img of [{ board, compressed: false, bytes: plain, plainBytes: plain }, { board, compressed: true, bytes: packed, plainBytes: plain }]) {
      // an image larger than the board's buffer is refused by its meters (UPDATE_TOO_LARGE): no campaign
      const held = bufferBlocks(board);
      if (Math.ceil(img.bytes / IMAGE_BLOCK) > held) {
        notSent.push(`${board} meter ${img.compressed ? "packed" : "plain"} (${img.bytes} bytes, ${Math.ceil(img.bytes / IMAGE_BLOCK)} blocks): not campaigned, its buffer holds ${held} blocks of ${IMAGE_BLOCK} bytes and its meters refuse it (UPDATE_TOO_LARGE)${img.compressed ? "" : "; it takes the packed image"}.`);
        process.stdout.write(`  ${notSent[notSent.length - 1]}\n`);
        continue;
      }
      for (const m of ["coded", "patent"] as const) {
        const r = benchRow(1000, 10, m, seed, "uniform", img);
        bundleRows.push(r);
        process.stdout.write(`  ${board} meter ${img.compressed ? "packed" : "plain"} (${img.bytes} bytes), 1000 meters, 10% loss, ${m}: ${r.done}/1000 done, ${r.blockFrames} block frames, ${fmtTime(r.airtimeS)} on air (${(r.airtimeS / r.limitBPlainS!).toFixed(2)} x limit b of the plain image), ${fmtTime(r.completionS)}, ${r.wallS.toFixed(1)} s wall\n`);
      }
    }
  }
  const k = Math.ceil(IMAGE_SIZE / BLOCK_SIZE);
  const sizes = frameSizes(imageOf(new Uint8Array(IMAGE_SIZE), { imageId: 1, version: 2, board: 1, blockSize: BLOCK_SIZE }).session);
  const x = smallestExchange();
  const room = roomFor(k);
  const table = tableOf(rows);
  console.log(table.join("\n"));
  const cpu = cpus();
  const machine = `${cpu.length} x ${cpu[0]?.model ?? "unknown CPU"}, ${platform()}, Node ${process.version}`;
  const big = rows.filter((r) => r.meters >= 10000 && r.method !== "unicast");
  const lines = [
    "# Campaign benchmark",
    "",
    "Written by `npm run bench` (bench/benchmark.ts) with docs/benchmarks.json (the campaigns' rows) and docs/benchmarks-figures.json (compression, the interpreter's figures) beside it; run it again to refresh. Every",
    `figure is from a simulation with seed ${seed}: the same seed gives the same table, except those of the section On the interpreter, measured on Espruino's Linux builds.`,
    "",
    "## Setup",
    "",
    `- Image: ${IMAGE_SIZE} bytes (64 KiB) in ${k} blocks of ${BLOCK_SIZE} bytes; a data-block frame is ${sizes.block} bytes, a repair-block frame the same, an update control ${sizes.control}.`,
    `- Line: ST7580, B-PSK at ${LINE.bitRate} bit/s, ${LINE.overheadBytes} bytes of PHY overhead per frame, ${LINE.turnaroundMs} ms turnaround; each frame on each link is lost independently with probability p. Modem host links at ${LINE.hostBaud} baud.`,
    `- Timing: the shipped console's. An answer is awaited for the request's own airtime plus answerTimeMs (firmware/concentrator/campaign.ts): the reply on the line, both frames over the modems' host links, ${PROGRAM_MS} ms for the meter program; ${Math.round(answerTimeMs(LINE.bitRate, LINE.overheadBytes, LINE.hostBaud, 30, SMALL_REPLY))} ms for a short answer, ${Math.round(LINE.answerMs)} ms for a full-frame one (a missing-block report). Reboot wait after ACTIVATE: ${REBOOT_WAIT_MS / 1000} s.`,
    "- Selection: every meter is in one group and the campaign selects the group (the patent's method sends it the control once, then to each meter until it answers).",
    `- coded: the concentrator's campaign engine in its coded mode (firmware/concentrator/campaign.ts, docs/update.md): broadcast control and activation, K blocks plus repair blocks for the loss it plans for (the line's mean loss), one group query a round answered in random slots by unfinished meters with their deficit, repair rounds sized from the largest deficit, stragglers served with plain blocks, a read-back of every meter in RESULT_LISTs (55 meters a frame, each answering in its own slot; one silent in two lists is asked by address). The meters run the meter's own decoder (firmware/meter/decoder.ts) with the room of a ${ROOM_BOARD} meter: ${room.spareSlots} spare slots after the image, ${room.rows} decoder rows (its profile's repairRows).`,
    "- patent: the same engine in the patent's method: the control to each meter, the broadcast, then rounds of status queries to each unfinished meter and re-broadcast of the union of the blocks they miss; activation and read-back.",
    "- unicast: a DLMS-style transfer (bench/unicast.ts), one meter after another: initiate, each block acknowledged before the next, verify, activate; a lost request or acknowledgement is retried after the timeout.",
    "- Model meters (bench/model-meter.ts): the real endpoint, codec, missing-block reports and decoder, without flash or the UART link to the modem, which change nothing on the line.",
    `- Limits: (a) = ceil(K / (1 - p)) block frames: every meter must keep K of the broadcasts; (b) = (a) plus, for each meter, the smallest confirmed exchange of the protocol (a ${x.query}-byte request with an empty body and a ${x.reply}-byte ACK, with PHY overhead and turnaround) divided by (1 - p)^2 for retries. The uneven line's limits are given with its mean loss and with the worst class's loss. The coded method's read-back lists share one request among 55 meters, so its confirmation of a meter costs less than the addressed exchange (b) charges: its airtime can fall below 1 x (b), which is then no bound for it.`,
    `- Uneven line: ${UNEVEN.share * 100}% of the meters lose ${UNEVEN.badLoss * 100}% of frames both ways, the others ${UNEVEN.goodLoss * 100}%; the concentrator plans for the mean, ${(UNEVEN.goodLoss * (1 - UNEVEN.share) + UNEVEN.badLoss * UNEVEN.share) * 100}%.`,
    `- Both methods give a meter up after ${TRIES} unanswered requests in a row (the done column counts the rest). Airtime sums every frame on the line, both directions. Completion is virtual time from the start to the end of the read-back.`,
    "- Worst decode: the coded method's meter whose decoder took the most block XORs in all, on arrival and at full rank: cleaning (a held block read from flash and XORed into a kept repair block's row, when it is kept or when that block arrives plain later) plus row XORs (one RAM row into another, reducing and eliminating as each repair block is kept). What that costs on the interpreter, and what is left for the full rank: docs/update.md, What it costs, measured on the interpreter.",
    "",
    "## Results",
    "",
    ...table,
    "",
    "## Real meter bundles, plain and packed",
    "",
    `The shipped meter programs (dist/<BOARD>/meter.js as an image carries it: the app header and the program) as plain images and packed (compressed in independent chunks of the board's packChunk with the interpreter's heatshrink; docs/update.md, Packed images), each campaigned to 1,000 meters at 10% loss by both methods, in ${IMAGE_BLOCK}-byte blocks (npm run image's default). The coded method's meters have the room of their own board (its buffer's spare slots after the image, its repairRows). Limit (b) is the plain image's: what a packed image saves is measured against it.`,
    "",
    ...bundleTableOf(bundleRows),
    "",
    ...(notSent.length ? [...notSent.map((n) => `- ${n}`), ""] : []),
    ...packedFramesOf(bundleRows).filter((f) => f.target !== null).map((f) => `Target (issue 17): the ${f.bundle}'s ${f.method} campaign packed in at most ${f.target} of the plain image's block frames: ${f.packed} / ${f.plain} = ${f.ratio.toFixed(2)}, ${f.met ? "met" : "**not met**"}.`),
    "",
    "Compression of every shipped meter bundle (plain payload bytes; packed in the board's chunks, the header and chunk table included; compressed whole, for comparison):",
    "",
    `| bundle | plain | chunk | packed | packed / plain (target <= ${COMPRESSION_TARGET}) | whole | whole / plain |`,
    "|---|---:|---:|---:|---:|---:|---:|",
    ...ratios.map((c) => `| ${c.board} | ${c.plain} | ${c.chunk} | ${c.packed} | ${(c.packed / c.plain).toFixed(3)} ${c.packed / c.plain <= COMPRESSION_TARGET ? "met" : "**not met**"} | ${c.whole} | ${(c.whole / c.plain).toFixed(3)} |`),
    "",
    ...interpreterSection(interpreter, rerun, o.figures as string),
    "## Host speed",
    "",
    `- Machine: ${machine}.`,
    ...big.map((r) => `- ${r.meters.toLocaleString("en")} meters, ${r.scenario === "uneven" ? "uneven line" : `${r.lossPct}% loss`}, ${r.method}: simulated in ${r.wallS.toFixed(1)} s of wall time on one core.`),
    "",
  ];
  writeOutput("--out", o.out as string, lines.join("\n"));
  const json = [...rows, ...bundleRows].map((r) => ({ ...r, airtimeS: +r.airtimeS.toFixed(2), completionS: +r.completionS.toFixed(2), limitAS: +r.limitAS.toFixed(2), limitBS: +r.limitBS.toFixed(2), limitAWorstS: r.limitAWorstS === undefined ? undefined : +r.limitAWorstS.toFixed(2), limitBWorstS: r.limitBWorstS === undefined ? undefined : +r.limitBWorstS.toFixed(2), wallS: +r.wallS.toFixed(2) }));
  const campaigns = json.map((r) => ({ ...r, compressed: r.compressed ?? false, limitBPlainS: r.limitBPlainS === undefined ? undefined : +r.limitBPlainS.toFixed(2) }));
  // every shipped meter bundle's compression (issue 17's first target: packed <= 0.72 of plain)
  const compression = ratios.map((c) => ({ ...c, packedOverPlain: +(c.packed / c.plain).toFixed(4), wholeOverPlain: +(c.whole / c.plain).toFixed(4), target: COMPRESSION_TARGET, met: c.packed / c.plain <= COMPRESSION_TARGET }));
  writeOutput("--json", o.json as string, JSON.stringify(campaigns, null, 1) + "\n");
  writeOutput("--figures", o.figures as string, JSON.stringify({ compression, packedFrames: packedFramesOf(bundleRows), interpreter }, null, 1) + "\n");
  console.log(`bench: wrote ${o.out}, ${o.json} and ${o.figures}`);
  const failed = rows.filter((r) => r.done !== r.meters);
  if (failed.length) console.log(`bench: note: in ${failed.length} campaigns some meter was given up (see the done column)`);
}

if (isMain(import.meta.url)) cli(TOOL, main);
