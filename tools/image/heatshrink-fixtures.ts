/*
 * node --import tsx tools/image/heatshrink-fixtures.ts --espruino PATH [--out DIR] [--bundle FILE]
 *
 * The heatshrink fixtures, made by the interpreter itself: for each input below, the plain
 * bytes (NAME.plain) and what the interpreter's require("heatshrink").compress() gave
 * (NAME.hs), and fixtures.json recording, per input, what the interpreter did besides: its
 * decompress() of its own output (the whole input, or what it lost) and of the host's
 * compress() output (tools/image/heatshrink.ts), which must be the whole input. The tests
 * (test/unit/tools/host-heatshrink-*) read them without an interpreter.
 *
 * The inputs are made on the host, the same every run: empty, one byte, zeros (read back
 * from the window's zeros), repetitive text, pseudo-random bytes (a xorshift32 from a fixed
 * seed; two lengths where the interpreter's compress() loses its last byte, found with
 * interpreterCompress()) and the shipped ESPRUINOBOARD meter bundle's program in 2 KiB
 * chunks. Exit 1 when the interpreter cannot run them or decompresses the host's output
 * to anything but the input.
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cli, int, interpreter, isMain, ToolError, writeOutput, type Parsed, type Tool } from "../cli/cli";
import { compress, interpreterCompress } from "./heatshrink";
import { bundleProgram } from "./image";
import { INTERPRETER_INFO, printedBytes, printedInfo, runOnInterpreter, uint8Expr, type InterpreterInfo } from "./on-interpreter";

export const TOOL: Tool = {
  name: "heatshrink-fixtures", run: "node --import tsx tools/image/heatshrink-fixtures.ts",
  about: "The heatshrink fixtures made by the interpreter itself: each input's plain bytes (NAME.plain), the\ninterpreter's compress() of them (NAME.hs) and fixtures.json (what its decompress() gave back, of its\nown output and of the host's). Replaces the folder's .plain, .hs and fixtures.json.",
  options: {
    espruino: { type: "string", value: "PATH", required: true, help: "an Espruino Linux build (2v29) with require(\"heatshrink\")" },
    out: { type: "string", value: "DIR", default: "test/fixtures/heatshrink", help: "the folder to write" },
    bundle: { type: "string", value: "FILE", default: "dist/ESPRUINOBOARD/meter.js", help: "the bundle whose program is cut into chunks (npm run build first)" },
    chunk: { type: "string", value: "N", default: "2048", help: "the bundle's chunk size in bytes, 64 to 8192" },
  },
  examples: ["node --import tsx tools/image/heatshrink-fixtures.ts --espruino ~/Espruino/espruino"],
  notes: ["exit 0; 1 when the interpreter cannot run them or does not decompress the host's output to the input; 2 for a bad argument"],
};

export interface FixtureInput { name: string; about: string; plain: Uint8Array }

/** What fixtures.json says of one input. */
export interface FixtureRecord {
  name: string;
  about: string;
  plainBytes: number;
  /** The interpreter's compress() output. */
  hsBytes: number;
  /** The host's compress() output, and whether it is the interpreter's byte for byte. */
  hostBytes: number;
  identical: boolean;
  /** How many bytes the interpreter's decompress() of its own output gave, and whether they are the input's first ones. */
  interpreterOwnRoundTrip: { bytes: number; prefixOfPlain: boolean };
  /** The interpreter's decompress() of the host's output is the input. */
  hostOutputDecompressesOnInterpreter: boolean;
}

export interface FixtureManifest { made: string; interpreter: InterpreterInfo; bundle: string; fixtures: FixtureRecord[] }

/** A xorshift32 stream from `seed`: the same bytes every run. */
function pseudoRandom(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[i] = x & 0xff; }
  return out;
}

/** The first length from `from` whose pseudo-random bytes the interpreter's compress() cuts short. */
function lossyLength(from: number, seed: number): number {
  for (let n = from; ; n++) if (interpreterCompress(pseudoRandom(n, seed)).length < compress(pseudoRandom(n, seed)).length) return n;
}

const text = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

export function fixtureInputs(program: Uint8Array, chunk: number, bundleName: string): FixtureInput[] {
  const SEED = 0x2026_1202;
  const line = "meter 1001 obis 1.8.0 reading 0000123.456 kWh status ok\n";
  const short = lossyLength(100, SEED), long = lossyLength(1000, SEED);
  const inputs: FixtureInput[] = [
    { name: "empty", about: "no bytes", plain: new Uint8Array(0) },
    { name: "one-byte", about: "one byte, \"A\"", plain: text("A") },
    { name: "zeros-300", about: "300 zero bytes: back-references into the window's starting zeros, 64 bytes each", plain: new Uint8Array(300) },
    { name: "text-repetitive", about: `one ${line.length}-byte line of meter text 50 times`, plain: text(line.repeat(50)) },
    { name: "random-4096", about: "4 KiB of pseudo-random bytes (xorshift32): literals, a few 2-byte matches", plain: pseudoRandom(4096, SEED) },
    { name: `random-${short}-interpreter-loses-last-byte`, about: `${short} pseudo-random bytes: the first length from 100 where the interpreter's compress() drops its last byte`, plain: pseudoRandom(short, SEED) },
    { name: `random-${long}-interpreter-loses-last-byte`, about: `${long} pseudo-random bytes: the first length from 1000 (over several 256-byte buffer loads) where the interpreter's compress() drops its last byte`, plain: pseudoRandom(long, SEED) },
  ];
  for (let off = 0, i = 0; off < program.length; off += chunk, i++) {
    inputs.push({ name: `meter-${bundleName}-${String(i).padStart(2, "0")}`, about: `bytes ${off} to ${Math.min(program.length, off + chunk) - 1} of the ${bundleName} meter bundle's program (${program.length} bytes)`, plain: program.subarray(off, off + chunk) });
  }
  return inputs;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** One input through the interpreter: its compress(), its decompress() of that and of the host's compress(). */
async function onInterpreter(bin: string, input: FixtureInput): Promise<{ hs: Uint8Array; record: FixtureRecord; info: InterpreterInfo }> {
  const host = compress(input.plain);
  const out = await runOnInterpreter(bin, [
    INTERPRETER_INFO,
    `var hs = require("heatshrink"), plain = ${uint8Expr(input.plain)}, host = ${uint8Expr(host)};`,
    "var c = hs.compress(plain);",
    'print("HS " + btoa(E.toString(c)));',
    'print("OWN " + btoa(E.toString(hs.decompress(c))));',
    'print("HOST " + btoa(E.toString(hs.decompress(host))));',
  ].join("\n"));
  const hs = printedBytes(out, "HS"), own = printedBytes(out, "OWN"), fromHost = printedBytes(out, "HOST");
  return {
    hs,
    info: printedInfo(out),
    record: {
      name: input.name, about: input.about, plainBytes: input.plain.length, hsBytes: hs.length, hostBytes: host.length, identical: same(hs, host),
      interpreterOwnRoundTrip: { bytes: own.length, prefixOfPlain: same(own, input.plain.subarray(0, own.length)) },
      hostOutputDecompressesOnInterpreter: same(fromHost, input.plain),
    },
  };
}

async function main({ values: v }: Parsed): Promise<number> {
  const bin = interpreter("--espruino", v.espruino as string);
  const chunk = int("--chunk", v.chunk as string, 64, 8192)!;
  const dir = v.out as string;
  const bundle = v.bundle as string;
  const bundleName = /([^/]+)\/meter\.js$/.exec(bundle)?.[1] ?? "bundle";
  const inputs = fixtureInputs(bundleProgram(bundle), chunk, bundleName);

  const made: { input: FixtureInput; hs: Uint8Array; record: FixtureRecord }[] = [];
  let info: InterpreterInfo | undefined;
  for (const input of inputs) {
    const r = await onInterpreter(bin, input).catch((e: Error) => { throw new ToolError(`${input.name}: ${e.message}`); });
    info ??= r.info;
    made.push({ input, ...r });
  }
  mkdirSync(dir, { recursive: true });
  // only what this tool writes is replaced: the folder's README stays
  for (const f of readdirSync(dir)) if (/\.(plain|hs)$/.test(f) || f === "fixtures.json") rmSync(join(dir, f));
  for (const m of made) {
    writeOutput("--out", join(dir, `${m.input.name}.plain`), m.input.plain);
    writeOutput("--out", join(dir, `${m.input.name}.hs`), m.hs);
  }
  const manifest: FixtureManifest = { made: new Date().toISOString().slice(0, 10), interpreter: info!, bundle, fixtures: made.map((m) => m.record) };
  writeOutput("--out", join(dir, "fixtures.json"), JSON.stringify(manifest, null, 2) + "\n");

  const w = Math.max(...made.map((m) => m.input.name.length));
  console.log(`heatshrink-fixtures: ${made.length} inputs on ${bin} (${info!.version} ${info!.commit}, ${info!.variables} variables) into ${dir}`);
  for (const { record: r } of made) {
    const own = r.interpreterOwnRoundTrip.bytes === r.plainBytes ? "whole" : `lost ${r.plainBytes - r.interpreterOwnRoundTrip.bytes} byte(s)`;
    console.log(`  ${r.name.padEnd(w)}  ${String(r.plainBytes).padStart(5)} -> ${String(r.hsBytes).padStart(5)}  host ${r.identical ? "identical" : `${r.hostBytes} bytes, not identical`}; interpreter's own round trip ${own}; host's output on the interpreter ${r.hostOutputDecompressesOnInterpreter ? "whole" : "WRONG"}`);
  }
  const wrong = made.filter((m) => !m.record.hostOutputDecompressesOnInterpreter);
  if (wrong.length) throw new ToolError(`the interpreter does not decompress the host's output of ${wrong.map((m) => m.input.name).join(", ")} to the input`);
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, main);
