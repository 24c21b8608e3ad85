/*
 * npm run bench:boot-memory -- --espruino PATH [--provision-with PATH] [--chunk BYTES]   (--help: the options)
 *
 * The boot routine's variables while it installs an update, on the real interpreter (an
 * Espruino Linux build; build it with VARIABLES=2756, the Original's count), issue 17's
 * target: the peak while it unpacks a packed image, against the same for a plain image.
 *
 * One LINUX meter is provisioned as flash.sh would (tools/flash/plan.ts provisioningPlan:
 * the boot routine in the boot region, the configuration, the shipped LINUX meter program
 * as v1 in the app region) by --provision-with (a build with more variables: the plan
 * cannot be evaluated in one go on 2,756), except that the boot stub in Storage .boot0
 * evaluates the boot routine's text from a Storage file (mlboot), which the interpreter
 * reads in place, as the Original's stub evaluates it from memory-mapped flash
 * (E.memoryArea): the routine's text stays in flash. Before the stub, .boot0 evaluates
 * the hooks (mlhook, in Storage too): Flash.read, Flash.write and
 * require("heatshrink").decompress are wrapped to sample process.memory() inside every
 * call the routine makes (a decompress after the native call, when its input, its output
 * and the previous chunk are all alive), the hooks' own cost measured at start and taken
 * off. Sampling stops at the journal's DONE (or FAILED, REVERTED): the install's end.
 *
 * Then, on copies of that flash, with the real ESPRUINOBOARD meter program staged as an
 * activated download (bench/real-parts.ts stageUpdate), once plain and once packed in
 * chunks of --chunk (the Original's packChunk, 2,048), each booted twice on the measured
 * build: a first run finds the sample with the most variables alive, a second dumps the
 * variables there (E.dumpVariables), re-costed for the Original's 13-byte variables as
 * bench:memory re-costs its dump (bench/memory.ts originalCost). The app region must then
 * hold the plain program byte for byte and the journal its DONE.
 *
 * --json FILE writes the figures it prints (BootMemoryFigures), numbers not text, whatever
 * the exit code (its `ok` says whether both installs passed); npm run bench reads them.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, int, interpreter, isMain, outputFolder, ToolError, UsageError, writeOutput, type Parsed, type Tool } from "../tools/cli/cli";
import { handoverStub, provisioningPlan } from "../tools/flash/plan";
import { bundleProgram } from "../tools/image/image";
import { loadProfile } from "../tools/profiles/profiles";
import { JR_DONE, JR_FAILED, JR_REVERTED } from "../firmware/common/update-image";
import { getU32 } from "../firmware/common/bytes";
import { originalCost, runEspruino, stringBase } from "./memory";
import { plainAndPacked, programImage, type Image } from "./image";
import { appRegion, FLASH_FILE, readFlashFile, stageUpdate } from "./real-parts";
import { Id } from "../firmware/protocol/catalogue";

/** The Original's variables (ESPRUINOBOARD, 2v29). */
export const ORIGINAL_VARIABLES = 2756;

/** The Storage file the boot routine's text is kept in, and the hooks'. */
export const BOOT_FILE = "mlboot", HOOK_FILE = "mlhook";

/** A Storage file over the rest of the fake flash: read in place at an offset, it is the flash at an address (E.memoryArea on the Linux build, which maps no flash). */
export const WINDOW_FILE = "mlflash";

/**
 * The provisioning plan rewritten for the measurement: .boot0 takes the usage before the
 * hooks (bmU0), evaluates the hooks, then runs the boot stub (handoverStub) around the
 * routine evaluated from Storage `BOOT_FILE`; the routine's and the hooks' texts are
 * written to Storage; no load() (the plan is evaluated on a build that then stops).
 */
export function bootPlan(plan: string, routine: string, hooks: string): string {
  const stub = `var bmU0=process.memory().usage;eval(require("Storage").read(${JSON.stringify(HOOK_FILE)}));` +
    handoverStub(`eval(require("Storage").read(${JSON.stringify(BOOT_FILE)}))`);
  const lines = plan.split("\n");
  const at = lines.findIndex((l) => l.startsWith('require("Storage").write(".boot0",'));
  const top = lines.indexOf('var F=require("Flash");');
  if (at < 0 || top < 0) throw new Error("the plan writes no .boot0 or has no Flash line");
  lines.splice(at, 1);
  // the Storage files first, the flash window last of them (it takes the rest of Storage),
  // then the plan's raw regions as it writes them
  lines.splice(top + 1, 0,
    `require("Storage").write(".boot0",${JSON.stringify(stub)});`,
    `require("Storage").write(${JSON.stringify(BOOT_FILE)},${JSON.stringify(routine)});`,
    `require("Storage").write(${JSON.stringify(HOOK_FILE)},${JSON.stringify(hooks)});`,
    `require("Storage").write(${JSON.stringify(WINDOW_FILE)},"\\xff",0,require("Storage").getStats().freeBytes-256);`);
  const out = lines.filter((l) => l !== "load();");
  out.push(`print("ML-PROVISIONED");`);
  return out.join("\n") + "\n";
}

/**
 * The LINUX boot routine with the Original's one fact that matters here: flash is
 * memory-mapped, so the program in the app region is read in place (E.memoryArea, as the
 * ESPRUINOBOARD bundle reads it), not copied into RAM. Throws when the bundle's mapped()
 * is not found exactly once.
 */
export function mappedRoutine(routine: string): string {
  const re = /(:function\((\w+),(\w+)\)\{)return null(\})/g;
  const hits = [...routine.matchAll(re)];
  if (hits.length !== 1) throw new Error(`the boot routine has ${hits.length} functions returning null where one mapped() was expected`);
  return routine.replace(re, (_m, a, x, y, b) => `${a}return E.memoryArea(${x},${y})${b}`);
}

/** Where the data of Storage file `name` starts in a Linux build's flash (`base`: its address), from the flash's bytes; -1 when absent. */
export function storageDataAt(flash: Uint8Array, base: number, name: string): number {
  const key = Buffer.from(name + "\0", "latin1"), buf = Buffer.from(flash.buffer, flash.byteOffset, flash.length);
  for (let o = buf.indexOf(key); o >= 4; o = buf.indexOf(key, o + 1)) if (o % 4 === 0) return base + o - 4 + 32;
  return -1;
}

/**
 * The hooks, evaluated by .boot0 before the boot stub. Every Flash.read, Flash.write and
 * heatshrink decompress (after the native call) samples process.memory(false).usage (with
 * garbage) and process.memory().usage (live, after a collection), less the hook's own
 * cost (measured once by a read of `probe` before sampling starts); it keeps the most of
 * each and the sample number of the live peak. The file bmat.txt in the working directory
 * holds two numbers: the sample that prints (0: none) E.dumpVariables() between ML-DUMP and
 * ML-DUMPEND, and the address of WINDOW_FILE's data, which E.memoryArea then reads in
 * place (as the Original maps its flash; 0: E.memoryArea as it is). A journal write (at `journal`, `journalSize` bytes) whose tag is DONE,
 * FAILED or REVERTED ends the sampling and prints ML-BOOT and the figures (JSON: samples
 * n, pk [with garbage, live, live peak's sample, its call kind 1 read 2 write 3
 * decompress], ov the hooks' cost, base the usage after the hooks, u0 before them, tag).
 */
export function bootHooks(probe: number, journal: number, journalSize: number): string {
  const tags = [JR_DONE, JR_FAILED, JR_REVERTED].map((t) => t >>> 24).join(",");
  return `var bmF=require("Flash"),bmR=bmF.read,bmW=bmF.write,bmH=require("heatshrink"),bmD=bmH.decompress,bmOn=0,bmN=0,bmPk=[0,0,0,0],bmOv=[0,0],bmO0=0,bmO1=0,bmBase=0,bmAt=0,bmFa=0,bmT=[${tags}],bmAf=E.openFile("bmat.txt","r");
if(bmAf){bmAf=bmAf.read(64).split(" ");bmAt=parseInt(bmAf[0])||0;bmFa=parseInt(bmAf[1])||0;}bmAf=0;
if(bmFa)E.memoryArea=function(a,n){return require("Storage").read(${JSON.stringify(WINDOW_FILE)},a-bmFa,n);};
function bmSmp(k){bmN++;var r=process.memory(false).usage-bmOv[0],m=process.memory().usage-bmOv[1];if(r>bmPk[0])bmPk[0]=r;if(m>bmPk[1]){bmPk[1]=m;bmPk[2]=bmN;bmPk[3]=k;}if(bmAt&&bmN===bmAt){print("ML-DUMP");E.dumpVariables();print("ML-DUMPEND");}}
bmF.read=function(l,a){if(bmOn)bmSmp(1);return bmR.call(bmF,l,a);};
bmF.write=function(d,a){if(bmOn)bmSmp(2);var x=bmW.call(bmF,d,a);if(bmOn&&a>=${journal}&&a<${journal + journalSize}&&d.length===8&&bmT.indexOf(d[3]&0xf0)>=0){bmOn=0;print("ML-BOOT "+JSON.stringify({n:bmN,pk:bmPk,ov:bmOv,base:bmBase,u0:bmU0,tag:d[3]&0xf0}));}return x;};
bmH.decompress=function(d){var x=bmD.call(bmH,d);if(bmOn)bmSmp(3);return x;};
bmO0=process.memory(false).usage;bmO1=process.memory().usage;bmOn=1;bmN=-1;bmF.read(4,${probe});bmOn=0;
bmOv=[bmPk[0]-bmO0,bmPk[1]-bmO1];bmPk=[0,0,0,0];bmN=0;
bmBase=process.memory().usage;bmOn=1;
`;
}

/** What a measured boot printed (ML-BOOT), or null. */
export interface BootFigures { n: number; pk: number[]; ov: number[]; base: number; u0: number; tag: number }

export function bootFigures(text: string): BootFigures | null {
  const m = /ML-BOOT (\{.*\})/.exec(text);
  return m ? (JSON.parse(m[1]) as BootFigures) : null;
}

/** The dump printed between ML-DUMP and ML-DUMPEND, or null. */
export function dumpOf(text: string): string | null {
  const m = /ML-DUMP\r?\n([\s\S]*?)ML-DUMPEND/.exec(text);
  return m ? m[1] : null;
}

/**
 * The boot routine's peaks from the figures: the hooks' variables (the usage after them
 * less the usage before: `base - u0`) taken off, so live and withGarbage count the
 * interpreter's own, the boot stub's and the routine's; original re-costs the live peak
 * with a dump taken there (`dumpHere`, `dumpOriginal`: originalCost's), assuming the hooks'
 * variables (short names, numbers: one each on both) cost as many on the Original.
 */
export function bootPeaks(f: BootFigures, dumpHere?: number, dumpOriginal?: number): { hooks: number; live: number; withGarbage: number; original?: number } {
  const hooks = f.base - f.u0, live = f.pk[1] - hooks, withGarbage = f.pk[0] - hooks;
  const original = dumpHere !== undefined && dumpOriginal !== undefined ? dumpOriginal - (dumpHere - live) : undefined;
  return { hooks, live, withGarbage, original };
}

/** One install's figures in --json (variables; "live" after a collection, "withGarbage" before one). */
export interface BootInstallFigures {
  image: "plain" | "packed";
  imageId: number;
  bytes: number;
  blocks: number;
  /** The journal's last tag: DONE, FAILED or REVERTED. */
  tag: string;
  samples: number;
  /** The app region holds the plain program byte for byte, and its version. */
  appMatches: boolean;
  appVersion: number;
  /** The peaks on this build, the hooks' variables taken off. */
  live: number;
  withGarbage: number;
  /** The call the live peak was sampled in ("a flash read", "a flash write", "a decompress"), and its sample. */
  peakIn: string;
  peakSample: number;
  hooks: number;
  hookCost: number[];
  usedBeforeHooks: number;
  /** ORIGINAL_VARIABLES - live. */
  headroom: number;
  /** The flat strings (buffers) alive at the peak, in variables each. */
  flatStrings: number[];
  /** The live peak re-costed for the Original, and with garbage; the dump there on this build and re-costed; the string types' first. */
  original: number;
  originalWithGarbage: number;
  originalHeadroom: number;
  dumpHere: number;
  dumpOriginal: number;
  stringBase: number;
  ok: boolean;
}

/** What --json writes. */
export interface BootMemoryFigures {
  espruino: string;
  routine: string;
  routineBytes: number;
  program: string;
  programBytes: number;
  chunk: number;
  chunks: number;
  originalVariables: number;
  plain: BootInstallFigures;
  packed: BootInstallFigures;
  /** packed - plain, live on this build and re-costed. */
  packedMinusPlain: { live: number; original: number };
  ok: boolean;
}

export const TOOL: Tool = {
  name: "bench:boot-memory", run: "npm run bench:boot-memory --",
  about: "The boot routine's variables while it installs a plain and a packed image of the Original's\nmeter program, on an Espruino Linux build (build it with VARIABLES=2756), re-costed for the\nOriginal (issue 17). Needs npm run build first.",
  options: {
    espruino: { type: "string", value: "PATH", help: "the Espruino Linux build to measure (default: $ESPRUINO)" },
    "provision-with": { type: "string", value: "PATH", help: "a build with more variables to provision the flash with (default: the measured one)" },
    chunk: { type: "string", value: "BYTES", help: "the packed image's chunk (default: the Original's packChunk, 2048)" },
    program: { type: "string", value: "BOARD", default: "ESPRUINOBOARD", help: "whose meter bundle (dist/BOARD/meter.js) is installed" },
    id: { type: "string", value: "N", default: "3003", help: "the meter's id" },
    json: { type: "string", value: "FILE", help: "the figures printed, as JSON (BootMemoryFigures in bench/boot-memory.ts)" },
  },
  examples: ["npm run bench:boot-memory -- --espruino ~/espruino-2756 --provision-with ~/espruino"],
  notes: ["exit 0; 1 when an install did not complete or ran out of memory; 2 for a bad argument"],
};

function failWith(why: string, tail: string): never {
  console.log(`bench:boot-memory: the interpreter's output ends:\n${tail.slice(-800)}`);
  throw new ToolError(why);
}

async function main({ values: v }: Parsed): Promise<number> {
  let bin = (v.espruino as string | undefined) ?? process.env.ESPRUINO ?? "", provision = (v["provision-with"] as string | undefined) ?? "";
  if (!bin) throw new UsageError("--espruino PATH is required: an Espruino Linux build (VARIABLES=2756 for the Original's count)");
  bin = interpreter("--espruino", bin);
  provision = provision ? interpreter("--provision-with", provision) : bin;
  const chunk = v.chunk === undefined ? loadProfile("ESPRUINOBOARD").packChunk : int("--chunk", v.chunk as string, 256, 16384)!, id = int("--id", v.id as string, 1, Id.MAX_METER)!;
  const board = v.program as string;
  const json = v.json as string | undefined;
  if (json) outputFolder("--json", json);
  const p = loadProfile("LINUX"), bootFile = "dist/LINUX/boot.js";
  if (!existsSync(bootFile)) throw new ToolError(`no ${bootFile}: run npm run build first`);
  const routine = mappedRoutine(readFileSync(bootFile, "latin1").replace(/\n\/\/# sourceMappingURL=.*\s*$/, ""));
  const program = bundleProgram(join("dist", board, "meter.js"));
  const jr = p.regions.journal!;
  const dir = mkdtempSync(join(tmpdir(), "ml-boot-memory-"));
  writeFileSync(join(dir, "plan.js"), bootPlan(provisioningPlan({ board: "LINUX", role: "meter", id }), routine, bootHooks(p.regions.app!.addr, jr.addr, jr.size)));
  const out0 = await runEspruino(provision, dir, "plan.js", "ML-PROVISIONED", 30000);
  if (!out0.includes("ML-PROVISIONED")) failWith("the provisioning did not finish", out0);
  const window = storageDataAt(readFileSync(join(dir, FLASH_FILE)), p.flash.base, WINDOW_FILE);
  if (window < 0 || window > p.regions.app!.addr) failWith(`the flash window (Storage ${WINDOW_FILE}) is ${window < 0 ? "missing" : `at 0x${window.toString(16)}, above the app region`}`, out0);

  // the two images, v2 over the provisioned v1: the program plain, and packed
  const fields = (imageId: number) => ({ imageId, version: 2, board: p.code, blockSize: 200 });
  const plain = programImage(program, fields(2));
  const pk = plainAndPacked(program, fields(3), chunk);
  const boot = async (name: string, img: Image, at: number) => {
    const d = mkdtempSync(join(dir, `${name}-`));
    copyFileSync(join(dir, FLASH_FILE), join(d, FLASH_FILE));
    stageUpdate(d, p, img, 1);
    writeFileSync(join(d, "bmat.txt"), `${at} ${window} `);
    // the run's own file does nothing: .boot0 boots, installs and prints
    writeFileSync(join(d, "run.js"), "");
    const text = await runEspruino(bin, d, "run.js", at ? "ML-DUMPEND" : "ML-BOOT", 120000);
    return { d, text };
  };
  const measure = async (name: string, img: Image, plainBytes: Image) => {
    const first = await boot(name, img, 0);
    const f = bootFigures(first.text);
    if (!f) failWith(`${name}: no figures from the install (it ran out of memory or never ended)`, first.text);
    const app = appRegion(readFlashFile(first.d, p), p, [plainBytes]);
    const second = await boot(`${name}-dump`, img, f.pk[2]);
    const dump = dumpOf(second.text);
    if (!dump) failWith(`${name}: no dump at sample ${f.pk[2]}`, second.text);
    // re-costed with this build's type ranges, and as bench:memory re-costs (its ranges)
    const base = stringBase(dump), cost = originalCost(dump);
    const flat = [...dump.matchAll(/^\d+,(\d+),(\d+),/gm)].filter((x) => Number(x[2]) === base + 13).map((x) => Number(x[1]));
    return { f, flat, ok: f.tag === JR_DONE >>> 24 && app.matches === plainBytes, app, cost, base, peaks: bootPeaks(f, cost.here, cost.original) };
  };
  const runs = [
    { name: "plain", img: plain, r: await measure("plain", plain, plain) },
    { name: `packed`, img: pk.packed, r: await measure("packed", pk.packed, pk.plain) },
  ];
  const kinds = ["", "a flash read", "a flash write", "a decompress"];
  const head = (n: number) => ORIGINAL_VARIABLES - n;
  console.log(`bench:boot-memory: the LINUX boot routine (${bootFile}, ${routine.length} bytes, its text in Storage) installing the ${board} meter program (${program.length} bytes) on ${bin}`);
  console.log(`  images: plain ${plain.bytes.length} bytes (${plain.session.blockCount} blocks of 200); packed ${pk.packed.bytes.length} bytes (${(100 * pk.packed.bytes.length / plain.bytes.length).toFixed(1)} %, ${pk.packed.session.blockCount} blocks) in ${Math.ceil(plain.bytes.length / chunk)} chunks of ${chunk}`);
  let bad = false;
  const installs: BootInstallFigures[] = [];
  for (const { name, img, r } of runs) {
    const { f, peaks } = r;
    const tag = f.tag === JR_DONE >>> 24 ? "DONE" : f.tag === JR_FAILED >>> 24 ? "FAILED" : "REVERTED";
    installs.push({
      image: name as "plain" | "packed", imageId: img.session.imageId, bytes: img.bytes.length, blocks: img.session.blockCount, tag, samples: f.n,
      appMatches: !!r.app.matches, appVersion: r.app.version, live: peaks.live, withGarbage: peaks.withGarbage, peakIn: kinds[f.pk[3]], peakSample: f.pk[2],
      hooks: peaks.hooks, hookCost: f.ov, usedBeforeHooks: f.u0, headroom: head(peaks.live), flatStrings: r.flat,
      original: peaks.original!, originalWithGarbage: peaks.original! + peaks.withGarbage - peaks.live, originalHeadroom: head(peaks.original!),
      dumpHere: r.cost.here, dumpOriginal: r.cost.original, stringBase: r.base, ok: r.ok,
    });
    console.log(`  ${name.padEnd(7)} install ${tag}, ${f.n} samples; app region ${r.app.matches ? `v${r.app.version}, the plain program byte for byte` : `NOT the plain program (v${r.app.version}, ${r.app.bytes.length} bytes)`}; image ${img.session.imageId}`);
    console.log(`          peak live ${peaks.live} variables (in ${kinds[f.pk[3]]}, sample ${f.pk[2]}), ${peaks.withGarbage} counting garbage not yet collected; headroom to ${ORIGINAL_VARIABLES}: ${head(peaks.live)} (hooks' ${peaks.hooks} variables and per-call cost ${f.ov.join("/")} taken off; ${f.u0} in use before them)`);
    console.log(`          at the peak ${r.flat.length} flat strings (buffers) of ${r.flat.join(", ")} variables`);
    console.log(`          re-costed for the Original: live peak about ${peaks.original} of ${ORIGINAL_VARIABLES} (headroom ${head(peaks.original!)}), ${peaks.original! + peaks.withGarbage - peaks.live} counting garbage; the dump there: ${r.cost.here} variables on this build, ${r.cost.original} on the Original (string types from ${r.base})`);
    if (!r.ok) bad = true;
  }
  const [a, b] = runs.map((x) => x.r.peaks);
  console.log(`  packed - plain: +${b.live - a.live} live on this build, +${b.original! - a.original!} re-costed for the Original`);
  if (json) {
    const fig: BootMemoryFigures = {
      espruino: bin, routine: bootFile, routineBytes: routine.length, program: board, programBytes: program.length, chunk, chunks: Math.ceil(plain.bytes.length / chunk),
      originalVariables: ORIGINAL_VARIABLES, plain: installs[0], packed: installs[1], packedMinusPlain: { live: b.live - a.live, original: b.original! - a.original! }, ok: !bad,
    };
    writeOutput("--json", json, JSON.stringify(fig, null, 1) + "\n");
  }
  return bad ? 1 : 0;
}

if (isMain(import.meta.url)) cli(TOOL, main, { exit: true });
