/*
 * npm run bench:compress [-- --json FILE] [--espruino PATH [--repeat N]]
 *
 * What the interpreter's heatshrink (window 8 bits, lookahead 6, tools/image/heatshrink.ts)
 * does to every shipped meter bundle (dist/<BOARD>/meter.js, its program as an image
 * carries it): the plain size, compressed whole, and compressed in independent chunks of
 * 1, 1.5, 2, 3 and 4 KiB (each chunk its own stream, so that a meter decompresses one
 * chunk at a time with RAM for one chunk): the ratio of the chunks' total to the plain
 * size, and the largest chunk's compressed size. Every stream is decompressed on the host
 * and checked against its plain bytes.
 *
 * With --espruino PATH (an Espruino 2v29 Linux build), every chunk of every chunk size is
 * also decompressed by the interpreter, one chunk per run (a fresh interpreter, as little
 * else in memory as possible), and what it gives back is checked byte for byte against the
 * bundle. Each run measures, on that interpreter:
 *   time      require("heatshrink").decompress() of the chunk, the mean of --repeat calls
 *   memory    the variables decompress() adds: process.memory().usage (after a
 *             collection) before it and after it with its result held (the decoder's own
 *             state is on the C stack and costs none); and the compressed chunk's in RAM
 *             as a Uint8Array (E.getSizeOf: a usage difference would also count what the
 *             first typed array of a run makes once)
 * decompress() sizes its result by decoding twice, then makes it one flat string (one
 * header variable and the bytes in contiguous variables) in an ArrayBuffer (one more);
 * the table counts that from the sizes at the build's variable size (it matches what was
 * measured) and re-costs it for the Original's 13-byte variables (docs/espruino.md, Memory).
 * A flat string needs that many free variables in one run: on a fragmented table the
 * interpreter falls back to a chain of ordinary string variables, which takes more.
 *
 * Exit 0; 1 when a stream does not decompress to its plain bytes (host or interpreter) or
 * the interpreter cannot run; 2 for a bad argument.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cli, int, interpreter, isMain, outputFolder, ToolError, writeOutput, type Parsed, type Tool } from "../tools/cli/cli";
import { compress, decompress } from "../tools/image/heatshrink";
import { bundleProgram } from "../tools/image/image";
import { INTERPRETER_INFO, printedBytes, printedInfo, runOnInterpreter, uint8Expr, type InterpreterInfo } from "../tools/image/on-interpreter";

/** The chunk sizes measured (bytes of plain program per independent stream). */
export const CHUNK_SIZES = [1024, 1536, 2048, 3072, 4096];
/** The Original's variable size for flat strings, in bytes (docs/espruino.md, Memory). */
const ORIGINAL_BLOCK = 13;

/** `bytes` cut into pieces of `size` (the last one shorter). */
export function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += size) out.push(bytes.subarray(off, off + size));
  return out;
}

/** Variables of a flat string of `bytes` bytes with `block`-byte variables: a header and the bytes in contiguous variables (jsvNewFlatStringOfLength). */
const flatString = (bytes: number, block: number) => 1 + Math.ceil(bytes / block);
/** decompress()'s result of `bytes` bytes: a flat string in an ArrayBuffer. */
export const resultVariables = (bytes: number, block: number) => flatString(bytes, block) + 1;
/** A compressed chunk of `bytes` bytes in RAM as a Uint8Array: a flat string, its ArrayBuffer and the view. */
export const inputVariables = (bytes: number, block: number) => flatString(bytes, block) + 2;

interface OnInterpreter {
  /** Chunks whose decompress() gave their plain bytes, of all. */
  verified: number;
  chunks: number;
  /** decompress() of one chunk, ms: mean over the chunks of each one's mean, and the largest. */
  msMean: number;
  msMax: number;
  /** The variables decompress() added (its result held) and the compressed chunk's (E.getSizeOf), the most over the chunks. */
  resultVars: number;
  inputVars: number;
  /** The same counted from the sizes at this build's variable size (checks the re-costing below). */
  resultVarsCounted: number;
  inputVarsCounted: number;
  /** Re-costed for the Original's 13-byte variables: the largest chunk's result, and the largest compressed chunk in RAM. */
  originalResultVars: number;
  originalInputVars: number;
}

interface ChunkFigures {
  size: number;
  chunks: number;
  compressed: number;
  ratio: number;
  largestCompressed: number;
  interpreter?: OnInterpreter;
}

interface BundleFigures { board: string; file: string; plain: number; whole: number; wholeRatio: number; chunked: ChunkFigures[] }

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** `stream` must decompress on the host to `plain`: a ToolError naming `what` otherwise. */
function checked(stream: Uint8Array, plain: Uint8Array, what: string): Uint8Array {
  if (!same(decompress(stream, plain.length), plain)) throw new ToolError(`${what}: the host does not decompress it to its plain bytes`);
  return stream;
}

/** One compressed chunk through the interpreter: its decompress() (checked against `plain`), time and variables. */
async function runChunk(bin: string, stream: Uint8Array, plain: Uint8Array, repeat: number, what: string) {
  const out = await runOnInterpreter(bin, [
    INTERPRETER_INFO,
    // every name made first (a var is made when it runs: docs/espruino.md), so the differences are data only
    'var hs = require("heatshrink"), c, u1, r, u2, t, i, used = function () { return process.memory().usage; };',
    `c = ${uint8Expr(stream)}; u1 = used(); r = hs.decompress(c); u2 = used();`,
    "t = getTime();",
    `for (i = 0; i < ${repeat}; i++) hs.decompress(c);`,
    `print("MS " + ((getTime() - t) * 1000 / ${repeat}));`,
    'print("VARS " + E.getSizeOf(c) + " " + (u2 - u1));',
    'print("OUT " + btoa(E.toString(r)));',
  ].join("\n")).catch((e: Error) => { throw new ToolError(`${what}: ${e.message}`); });
  const vars = /^VARS (\d+) (\d+)/m.exec(out), ms = /^MS (\S+)/m.exec(out);
  if (!vars || !ms) throw new ToolError(`${what}: the interpreter printed no figures`);
  return { ok: same(printedBytes(out, "OUT"), plain), ms: Number(ms[1]), inputVars: Number(vars[1]), resultVars: Number(vars[2]), info: printedInfo(out) };
}

export const TOOL: Tool = {
  name: "bench:compress", run: "npm run bench:compress --",
  about: "Every shipped meter bundle (dist/*/meter.js, npm run build first) under the interpreter's heatshrink:\nplain size, compressed whole, and in independent chunks of 1, 1.5, 2, 3 and 4 KiB (ratio, largest\nchunk). With --espruino, each chunk decompressed by the interpreter too: checked byte for byte, timed,\nand the variables it takes.",
  options: {
    espruino: { type: "string", value: "PATH", help: "an Espruino 2v29 Linux build: check, time and size decompress() there" },
    repeat: { type: "string", value: "N", default: "20", help: "decompress() calls timed per chunk on the interpreter, 1 to 1000" },
    json: { type: "string", value: "FILE", help: "the figures as JSON" },
    dist: { type: "string", value: "DIR", default: "dist", help: "the built bundles' folder" },
  },
  examples: ["npm run bench:compress", "npm run bench:compress -- --espruino ~/Espruino/espruino --json bench/out/compression.json"],
  notes: ["exit 0; 1 when a stream does not decompress to its plain bytes or the interpreter cannot run; 2 for a bad argument"],
};

const pct = (r: number) => r.toFixed(3);

async function main({ values: v }: Parsed): Promise<number> {
  const bin = v.espruino === undefined ? undefined : interpreter("--espruino", v.espruino as string);
  const repeat = int("--repeat", v.repeat as string, 1, 1000)!;
  if (v.json) outputFolder("--json", v.json as string);
  const dist = v.dist as string;
  const boards = existsSync(dist) ? readdirSync(dist).filter((b) => existsSync(join(dist, b, "meter.js"))).sort() : [];
  if (!boards.length) throw new ToolError(`no meter bundle in ${dist}/*/meter.js: run npm run build`);

  let info: InterpreterInfo | undefined;
  const figures: BundleFigures[] = [];
  for (const board of boards) {
    const file = join(dist, board, "meter.js");
    const program = bundleProgram(file);
    const whole = checked(compress(program), program, `${file} whole`);
    const chunked: ChunkFigures[] = [];
    for (const size of CHUNK_SIZES) {
      const plains = chunksOf(program, size);
      const streams = plains.map((p, i) => checked(compress(p), p, `${file} chunk ${i} of ${size}`));
      const compressed = streams.reduce((s, c) => s + c.length, 0);
      const f: ChunkFigures = { size, chunks: plains.length, compressed, ratio: compressed / program.length, largestCompressed: Math.max(...streams.map((c) => c.length)) };
      if (bin) {
        const runs = [];
        for (let i = 0; i < plains.length; i++) runs.push(await runChunk(bin, streams[i], plains[i], repeat, `${file} chunk ${i} of ${size}`));
        info ??= runs[0].info;
        f.interpreter = {
          verified: runs.filter((r) => r.ok).length, chunks: runs.length,
          msMean: runs.reduce((s, r) => s + r.ms, 0) / runs.length, msMax: Math.max(...runs.map((r) => r.ms)),
          resultVars: Math.max(...runs.map((r) => r.resultVars)), inputVars: Math.max(...runs.map((r) => r.inputVars)),
          resultVarsCounted: resultVariables(plains[0].length, info.blockSize), inputVarsCounted: inputVariables(f.largestCompressed, info.blockSize),
          originalResultVars: resultVariables(plains[0].length, ORIGINAL_BLOCK), originalInputVars: inputVariables(f.largestCompressed, ORIGINAL_BLOCK),
        };
      }
      chunked.push(f);
    }
    figures.push({ board, file, plain: program.length, whole: whole.length, wholeRatio: whole.length / program.length, chunked });
  }

  const kib = (n: number) => `${+(n / 1024).toFixed(1)} KiB`;
  const rows = [["bundle", "plain", "whole", ...CHUNK_SIZES.map((s) => `${kib(s)} chunks`)]];
  for (const b of figures) rows.push([b.board, String(b.plain), `${b.whole} (${pct(b.wholeRatio)})`, ...b.chunked.map((c) => `${pct(c.ratio)}, max ${c.largestCompressed}`)]);
  console.log("bench:compress: every shipped meter bundle's program under heatshrink (window 8, lookahead 6); ratio = compressed / plain, max = the largest chunk compressed, bytes");
  console.log(table(rows));
  if (bin && info) {
    console.log(`\non ${bin} (${info.version} ${info.commit}, ${info.variables} variables of ${info.blockSize} bytes at start): decompress() of each chunk, one run per chunk, mean of ${repeat} calls`);
    const irows = [["bundle", "chunk", "verified", "ms mean / max", "vars: result / input", "counted", "Original (13 B): result / input"]];
    for (const b of figures) for (const c of b.chunked) {
      const x = c.interpreter!;
      irows.push([b.board, kib(c.size), `${x.verified} / ${x.chunks}`, `${x.msMean.toFixed(3)} / ${x.msMax.toFixed(3)}`, `${x.resultVars} / ${x.inputVars}`, `${x.resultVarsCounted} / ${x.inputVarsCounted}`, `${x.originalResultVars} / ${x.originalInputVars}`]);
    }
    console.log(table(irows));
  }
  if (v.json) writeOutput("--json", v.json as string, JSON.stringify({ chunkSizes: CHUNK_SIZES, interpreter: info ? { path: bin, ...info, repeat } : null, bundles: figures }, null, 2) + "\n");
  const bad = figures.flatMap((b) => b.chunked.filter((c) => c.interpreter && c.interpreter.verified < c.interpreter.chunks).map((c) => `${b.board} ${kib(c.size)}`));
  if (bad.length) throw new ToolError(`the interpreter did not decompress every chunk to the bundle's bytes: ${bad.join(", ")}`);
  return 0;
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ")).join("\n");
}

if (isMain(import.meta.url)) cli(TOOL, main);
