/*
 * npm run bench:memory -- --espruino PATH [--provision-with PATH] [--id N]   (--help: the options)
 *
 * The meter program's variables on the real interpreter (an Espruino Linux build), with
 * its program text left in flash as on a board that maps flash: the shipped LINUX meter
 * bundle (it carries the authentication code, so it is the larger program) goes into a
 * Storage file, which the interpreter reads in place, and Storage .boot0 evaluates it at
 * global scope as the boot stub does. Runs on copies of one provisioned flash:
 *   rest      process.memory() 3 s after power-on
 *   download  (twice, one run per coded download) the administration and reading
 *             requests, then an update control, 86 of 100 blocks, a status query, the 14
 *             missing blocks and a status query; then a coded download (codedShape,
 *             driveFrames): a SELECT_LIST and a broadcast control for a new image, its
 *             blocks with as many missing as the repair rows the bundle keeps for it
 *             (min(spare slots, repairRows)), a GROUP_QUERY (DEFICIT: needed = missing,
 *             room = rows), the REPAIR_BLOCKs the concentrator would build until the
 *             meter's decoder (the same code, run here) has full rank, so the meter decodes
 *             with every row it may keep, and a STATUS_QUERY (DOWNLOAD_COMPLETE). The first
 *             coded image leaves 140 spare slots (the bundle keeps its 24 rows), the second
 *             exactly 8 (the Original's repairRows, with this bundle). Frames are read from
 *             a file and delivered to the meter's endpoint one at a time; the usage after
 *             each, with and without a garbage collection, and, as the streamed decode's
 *             block buffer lives only inside one frame (the rows decoder's rows live from
 *             the first kept repair block on, seen after frames too), inside every flash
 *             read and write the meter makes
 *             (the hook's own cost, measured at start, taken off). A stand-in modem prints
 *             what the meter answers; the host decodes and checks every reply. A run that
 *             runs out of memory is reported as such, and run again without the hooks
 *   layout    E.dumpVariables() at rest, each name and string re-costed for the Original's
 *             variables (32-bit: 4 characters in a name's first block, 8 in a string's,
 *             9 in each extension; 13-byte blocks for flat strings)
 *
 * --json FILE writes the figures it prints (MemoryFigures), numbers not text, whatever the
 * exit code (its `ok` says whether every run passed); npm run bench reads them.
 *
 * Build the measured interpreter with VARIABLES=2756 (the Original's count) and it runs
 * out of memory where the Original would. Such a build cannot evaluate the provisioning
 * file in one go (as the espruino CLI would send it line by line): --provision-with names
 * a build with more variables for that step (by default the same one). docs/meter.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { provisioningPlan } from "../tools/flash/plan";
import { cli, int, interpreter, isMain, outputFolder, ToolError, UsageError, writeOutput, type Parsed, type Tool } from "../tools/cli/cli";
import { errName } from "../tools/errors/table";
import { bufferCapacity, loadAllProfiles, loadProfile, withFeaturesOf, type BoardProfile } from "../tools/profiles/profiles";

export { bufferCapacity };
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../firmware/protocol/codec";
import { repairIndex, repairSets, xorInto } from "../firmware/protocol/repair";
import { decoder, FREE } from "../firmware/meter/decoder";
import { LAMBDA } from "../firmware/concentrator/campaign";
import { hostNative, hostNativeNoSha } from "../hal/host/native";
import { blockOf, imageOf, type Image } from "./image";
import { Gop, Id, P, Rd, T, Ust, Who } from "../firmware/protocol/catalogue";
import { Err } from "../firmware/common/errors";
import { Key } from "../firmware/protocol/catalogue";

const CONC = 0xffffffff;

/** A reply the meter must give: its type, the code of an ERROR, body fields that must match. */
export type Reply = [number, number?, Record<string, number>?];

/** Replies the meter must give to downloadFrames(), in order. */
export const REPLIES: Reply[] = [
  [T.STATUS], [T.IDENTITY], [T.READINGS], [T.PROFILE], [T.ACK], [T.CONFIG_VALUE], [T.ACK], [T.ACK], [T.VERSION],
  [T.ERROR, Err.UPDATE_WRONG_BOARD], // an image for another board
  [T.ACK], [T.STATUS_REPORT], [T.DOWNLOAD_COMPLETE, undefined, { imageId: 77, version: 2 }], [T.VERSION],
];

/** Frames for meter `id`, numbered on across parts. */
function framer(id: number) {
  const out: Uint8Array[] = [];
  let seq = 1;
  return {
    add(type: number, mode: number, body: object): void {
      const b = new Uint8Array(242);
      const n = encodeMsg(setMsg(newMsg(), type, seq++, CONC, mode, mode === P.TO_METER ? id : CONC, body), b);
      if (n <= 0) throw new Error(`cannot encode message 0x${type.toString(16)} (${errName(-n)})`);
      out.push(b.slice(0, n));
    },
    frames: out,
  };
}
type Framer = ReturnType<typeof framer>;

function plainPart(f: Framer, id: number, board: number, sha: boolean): void {
  const bytes = new Uint8Array(20000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  const img = imageOf(bytes, { imageId: 77, version: 2, board, blockSize: 200 }, sha ? hostNative : hostNativeNoSha);
  const s = img.session, add = f.add;
  const any = new Uint8Array([255, 255, 255, 255, 255, 255]);
  const ONE = P.TO_METER, ALL = P.TO_ALL;
  add(T.STATUS_REQ, ONE, {});
  add(T.IDENTIFY, ONE, {});
  add(T.READ_REQ, ONE, { what: Rd.REGISTERS, obis: any, from: 0, count: 0 });
  add(T.READ_REQ, ONE, { what: Rd.PROFILE, obis: any, from: 0, count: 4 });
  add(T.TIME_SET, ONE, { time: 1795000000 });
  add(T.CONFIG_GET, ONE, { key: Key.CONSTANT });
  add(T.CONFIG_SET, ONE, { key: Key.SAVE_PULSES, value: new Uint8Array([40, 0]) }); // save every 40 pulses
  add(T.GROUP_SET, ONE, { op: Gop.JOIN, group: 12 });
  add(T.VERSION_READ, ONE, {});
  const control = { ...s, start: 1 };
  add(T.UPDATE_CONTROL, ONE, { ...control, board: board + 1 }); // another board: refused with UPDATE_WRONG_BOARD
  const block = (i: number) => add(T.DATA_BLOCK, ALL, { imageId: 77, index: i, data: blockOf(img, i) });
  add(T.UPDATE_CONTROL, ONE, control);
  for (let i = 0; i < 100; i++) if (i % 7 !== 3) block(i);
  add(T.STATUS_QUERY, ONE, { imageId: 77 });
  for (let i = 0; i < 100; i++) if (i % 7 === 3) block(i);
  add(T.STATUS_QUERY, ONE, { imageId: 77 });
  add(T.VERSION_READ, ONE, {});
}

/**
 * Frames for meter `id`: the administration and reading requests, a refused control
 * (another board), then a whole download: control, 86 blocks, status query, the 14
 * missing blocks, status query, version read.
 */
export function downloadFrames(id: number, board: number, sha: boolean): Uint8Array[] {
  const f = framer(id);
  plainPart(f, id, board, sha);
  return f.frames;
}

/**
 * A coded download on a board: `blocks` blocks of `blockSize` (the last one half full),
 * the spare slots the buffer region leaves after them, the repair rows the meter keeps
 * (the fewer of those and the profile's repairRows) and as many missing blocks (at most half
 * the blocks), spread
 * over the image: its decode fills every slot it may use.
 */
export interface CodedShape { imageId: number; version: number; blockSize: number; size: number; blocks: number; spare: number; rows: number; missing: number[] }


export function codedShape(p: BoardProfile, imageId: number, version: number, blockSize: number, blocks: number): CodedShape {
  const size = blocks * blockSize - blockSize / 2, spare = bufferCapacity(p, blockSize) - blocks;
  if (spare < 1 || size > p.maxImageSize || p.repairRows < 1) throw new Error(`${blocks} blocks of ${blockSize} leave ${spare} spare slots (${size} bytes, at most ${p.maxImageSize}; repairRows ${p.repairRows})`);
  const rows = Math.min(spare, p.repairRows);
  // as many missing as rows, but at most half the blocks: a board with many rows (the ESP32's
  // 128) on the Linux build's buffer would otherwise name the same block twice
  const m = Math.min(rows, Math.floor(blocks / 2));
  const missing = Array.from({ length: m }, (_, t) => Math.floor(((t + 0.5) * blocks) / m));
  return { imageId, version, blockSize, size, blocks, spare, rows, missing };
}

/** The image of a coded download, digested as the board digests (SHA-256 chain, or CRC-32 chain without SHA-256). */
export function codedImage(c: CodedShape, board: number, sha: boolean): Image {
  const bytes = new Uint8Array(c.size);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 13 + c.imageId) & 0xff;
  return imageOf(bytes, { imageId: c.imageId, version: c.version, board, blockSize: c.blockSize }, sha ? hostNative : hostNativeNoSha);
}

/** Repair block j of an image, as the concentrator builds it: the XOR of the blocks repairSets names, each zero-padded. */
export function repairData(img: Image, j: number): Uint8Array {
  const s = img.session, sets = repairSets(s.blockCount), data = new Uint8Array(s.blockSize);
  const n = sets.set(j);
  for (let k = 0; k < n; k++) xorInto(data, blockOf(img, sets.out[k]));
  return data;
}

/**
 * The repair blocks sent to a meter missing c.missing, of the degree the campaign picks
 * for that deficit (about LAMBDA missing blocks each), up to the one that gives its
 * decoder full rank: the meter's own decoder (firmware/meter/decoder.ts) run here on the
 * same received set, so the frames end where the meter decodes. `kept`: those it stores.
 */
export function repairsToDecode(c: CodedShape): { indices: number[]; kept: number } {
  const dec = decoder(c.blocks, c.blockSize, c.rows); // (only its rank is used here)
  const got = new Uint8Array((c.blocks + 7) >> 3);
  for (let i = 0; i < c.blocks; i++) if (!c.missing.includes(i)) got[i >> 3] |= 0x80 >> (i & 7);
  const ids = new Uint16Array(c.rows).fill(FREE);
  dec.rebuild(got, ids, c.rows);
  const degree = Math.max(1, Math.min(127, Math.round((LAMBDA * c.blocks) / c.missing.length)));
  const indices: number[] = [];
  let kept = 0;
  for (let serial = 0; dec.lacking() > 0; serial++) {
    if (serial > 255) throw new Error(`no full rank from 256 repair blocks of degree ${degree}`);
    const j = repairIndex(degree, serial);
    indices.push(j);
    if (dec.offer(j)) { ids[kept] = j; dec.keep(kept++); }
  }
  return { indices, kept };
}

/**
 * A coded download's frames: a SELECT_LIST naming the meter, the broadcast control, the
 * blocks but the missing ones, a GROUP_QUERY, the repair blocks up to the decode, and a
 * STATUS_QUERY; the replies it must give: DEFICIT (needed = missing, room = rows), then
 * DOWNLOAD_COMPLETE.
 */
function codedPart(f: Framer, id: number, c: CodedShape, img: Image): { replies: Reply[]; repairs: number; kept: number } {
  const s = img.session, imageId = c.imageId;
  f.add(T.SELECT_LIST, P.TO_ALL, { imageId, ids: [{ id: id - 1 }, { id }, { id: id + 1 }] });
  f.add(T.UPDATE_CONTROL, P.TO_ALL, { ...s, start: 1 }); // to all: no answer
  for (let i = 0; i < c.blocks; i++) if (!c.missing.includes(i)) f.add(T.DATA_BLOCK, P.TO_ALL, { imageId, index: i, data: blockOf(img, i) });
  f.add(T.GROUP_QUERY, P.TO_ALL, { imageId, who: Who.UNFINISHED, slots: 1, slotMs: 50 }); // one slot: the DEFICIT at once
  const r = repairsToDecode(c);
  for (const j of r.indices) f.add(T.REPAIR_BLOCK, P.TO_ALL, { imageId, index: j, data: repairData(img, j) });
  f.add(T.STATUS_QUERY, P.TO_METER, { imageId });
  return {
    replies: [
      [T.DEFICIT, undefined, { imageId, state: Ust.DOWNLOADING, received: c.blocks - c.missing.length, needed: c.missing.length, room: c.rows, code: 0 }],
      [T.DOWNLOAD_COMPLETE, undefined, { imageId, version: c.version }],
    ],
    repairs: r.indices.length,
    kept: r.kept,
  };
}

/** The whole drive: downloadFrames' part, then each coded download; frames per part, the replies expected, repair blocks per coded part. */
export function driveFrames(id: number, p: BoardProfile, coded: CodedShape[]): { frames: Uint8Array[]; parts: number[]; replies: Reply[]; repairs: { sent: number; kept: number }[] } {
  const f = framer(id), sha = p.crypto.includes("SHA256"), parts: number[] = [], replies = [...REPLIES], repairs: { sent: number; kept: number }[] = [];
  plainPart(f, id, p.code, sha);
  parts.push(f.frames.length);
  for (const c of coded) {
    const at = f.frames.length, r = codedPart(f, id, c, codedImage(c, p.code, sha));
    parts.push(f.frames.length - at);
    replies.push(...r.replies);
    repairs.push({ sent: r.repairs, kept: r.kept });
  }
  return { frames: f.frames, parts, replies, repairs };
}

/** Checks the replies printed by the drive run (base64 frames) against `expected`; problems as text. */
export function checkReplies(frames: Uint8Array[], expected: Reply[] = REPLIES): string[] {
  const problems: string[] = [];
  const got = frames.map((f) => { const m = newMsg(); const e = decodeMsg(f, f.length, m); return e ? null : m; });
  if (got.length !== expected.length) problems.push(`${got.length} replies, expected ${expected.length}`);
  expected.forEach(([type, code, fields], i) => {
    const m = got[i];
    if (!m) { problems.push(`reply ${i + 1}: ${i < got.length ? "does not decode" : "missing"}`); return; }
    if (m.type !== type || (code !== undefined && m.body.code !== code)) { problems.push(`reply ${i + 1}: 0x${m.type.toString(16)}${m.body.code !== undefined ? ` ${errName(m.body.code)}` : ""}, expected 0x${type.toString(16)}${code !== undefined ? ` ${errName(code)}` : ""}`); return; }
    for (const [k, v] of Object.entries(fields ?? {})) if (m.body[k] !== v) problems.push(`reply ${i + 1} (0x${type.toString(16)}): ${k} ${m.body[k]}, expected ${v}`);
  });
  return problems;
}

/**
 * Runs the interpreter on `file` in `dir` (its flash is dir/espruino.flash) until `marker`
 * is printed or it reports running out of memory. Its output is kept in dir/output.txt.
 */
export function runEspruino(bin: string, dir: string, file: string, marker: string, timeoutMs: number): Promise<string> {
  const log = join(dir, "output.txt");
  return new Promise((res, rej) => {
    // stdin stays open and idle: at end of file the interpreter stops taking input
    const p = spawn(bin, [file], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const done = (err?: Error) => { clearTimeout(t); p.kill("SIGKILL"); if (err) rej(err); else res(out); };
    const t = setTimeout(() => { console.log(`bench:memory: the interpreter's output ends:\n${out.slice(-600)}`); done(new Error(`${bin} did not print ${marker} within ${timeoutMs / 1000} s`)); }, timeoutMs);
    p.stdout.on("data", (d) => {
      out += d.toString("latin1");
      appendFileSync(log, d);
      if (out.includes(marker)) setTimeout(() => done(), 50);
      // out of memory: the interval that drives the frames is gone, nothing more will come
      else if (out.includes("New interpreter error") && /MEMORY/.test(out.slice(out.indexOf("New interpreter error")))) setTimeout(() => done(), 500);
    });
    p.on("error", (e) => done(new Error(`cannot run ${bin}: ${e.message}`)));
  });
}

/**
 * The first string type of the interpreter that printed `dump` (E.dumpVariables): the
 * flags of a one-block string less its length, the most common such value over the dump's
 * whole one-block strings (a build's names, strings and flat strings follow from it:
 * names below, STRING_0 .. STRING_0+12, the flat string after). 2v29's Linux build with
 * VARIABLES=2756 prints 37 (String "" 37, ".boot0" 43, an 8-character name 36).
 */
export function stringBase(dump: string): number {
  // the lengths each flags value is seen with: a one-block string's flags hold its length,
  // so a value seen with two lengths is another type (a native string in flash is one
  // block whatever its length, and the code of functions evaluated from Storage is many)
  const lengths = new Map<number, Set<number>>();
  for (const l of dump.split(/\r?\n/)) {
    const m = /^\d+,1,(\d+),String "((?:[^"\\]|\\.)*)",/.exec(l);
    if (!m || m[2].endsWith("...")) continue;
    const len = m[2].replace(/\\x[0-9A-Fa-f]{2}/g, "X").replace(/\\(.)/g, "$1").length, flags = Number(m[1]);
    if (!lengths.has(flags)) lengths.set(flags, new Set());
    lengths.get(flags)!.add(len);
  }
  const seen = new Map<number, number>();
  for (const [flags, lens] of lengths) if (lens.size === 1) for (const len of lens) seen.set(flags - len, (seen.get(flags - len) ?? 0) + 1);
  let best = -1, n = 0;
  for (const [b, k] of seen) if (k > n) { best = b; n = k; }
  return best;
}

/**
 * Variables of a dump at this build's sizes and re-costed for the Original's (as
 * bench/memory.ts originalCost: 4 characters in a name's first block, 8 in a string's, 9 in
 * each extension, 13-byte blocks for flat strings), with the type ranges of the build that
 * printed it (`base`: stringBase): names 15..base-1 (from 18 with their text), strings base..base+12 (one block: its
 * length exactly; more: the most they hold), the flat string base+13.
 */
export function recostDump(dump: string, base: number): { here: number; original: number } {
  let here = 0, original = 0;
  for (const l of dump.split(/\r?\n/)) {
    const m = /^(\d+),(\d+),(\d+),("(?:[^"\\]|\\.)*"|String "(?:[^"\\]|\\.)*"|[^,]*),/.exec(l);
    if (!m) continue;
    const size = Number(m[2]), flags = Number(m[3]);
    const text = m[4].replace(/^String /, "").replace(/^"|"$/g, "").replace(/\\x[0-9A-Fa-f]{2}/g, "X").replace(/\\(.)/g, "$1");
    here += size;
    // (15..17 index names; from 18 names with their text, an int value in place or a link)
    if (flags >= 15 && flags < base) original += 1 + (flags >= 18 && text.length > 4 ? Math.ceil((text.length - 4) / 9) : 0);
    else if (flags >= base && flags <= base + 12) { const len = size === 1 ? flags - base : 12 + (size - 1) * 13; original += 1 + Math.max(0, Math.ceil((len - 8) / 9)); }
    else if (flags === base + 13) original += 1 + Math.ceil(((size - 1) * 17) / 13);
    else original += size;
  }
  return { here, original };
}

/**
 * Variables of a dump (E.dumpVariables) at this build's sizes, and re-costed for the
 * Original's, with the string types of the build that printed it (stringBase; 36, 2v29's
 * on a 64-bit build with 12-bit references, when the dump has no one-block string to tell).
 */
export function originalCost(dump: string): { here: number; original: number } {
  const base = stringBase(dump);
  return recostDump(dump, base >= 0 ? base : 36);
}

/**
 * The drive run's script. It reads the frames from the file frames.bin in its directory
 * (each a part number and a length byte before it: driveFile) and delivers one every 100 ms
 * to the endpoint, copied into one frame buffer allocated before the baseline (as a modem
 * driver's is). Usage per part, the most seen:
 * [0] before a collection and [1] after one, after each frame (as before); [2] and [3] the
 * same inside every flash read and write the meter makes while a frame is being handled
 * (the streamed decode's block buffer exists only there), less the hook's own cost `ov`,
 * measured once by a read of address `probe` from the top of the script. The flash calls
 * are hooked only when the global bmIn is set before the script is evaluated. After each
 * frame it prints ML-NEXT with the frames delivered and the usage.
 */
export function driveScript(parts: number, probe: number): string {
  // the bundle's own globals are one or two letters (mangled): the script's all start with bm
  return `var bmFlash=require("Flash"),bmRead=bmFlash.read,bmWrite=bmFlash.write,bmFile=E.openFile("frames.bin","r"),bmBuf=new Uint8Array(242),bmS=${parts},bmPh=bmS,bmOn=0,bmPk=new Uint16Array(4*bmS+4),bmOv=[0,0],bmO0=0,bmO1=0,bmFn=0,bmBase=0;
function bmSmp(k,a,b){var r=process.memory(false).usage-a,m=process.memory().usage-b;k+=4*bmPh;if(r>bmPk[k])bmPk[k]=r;if(m>bmPk[k+1])bmPk[k+1]=m;}
if(global.bmIn)bmFlash.read=function(l,a){if(bmOn)bmSmp(2,bmOv[0],bmOv[1]);return bmRead.call(bmFlash,l,a);};
if(global.bmIn)bmFlash.write=function(d,a){if(bmOn)bmSmp(2,bmOv[0],bmOv[1]);return bmWrite.call(bmFlash,d,a);};
var bmIv=setInterval(function(){
  if(!global.meterline)return;
  if(!bmBase){
    // a stand-in modem: each reply is printed for the host to check
    meterline.endpoint.attach({maxPayload:242,stats:{},start:function(){},busy:function(){return false;},
      send:function(f,l){print("ML-TX "+btoa(E.toString(f.subarray(0,l))));setTimeout(function(){meterline.endpoint.events.sent(0);},1);return 0;}});
    // the board's own driver still runs on a port with no modem: its failures must not
    // take the stand-in down (the endpoint keeps one events object for both)
    var ev=meterline.endpoint.events,ready=ev.ready;ev.ready=function(){ready(0);};
    ev.ready(0);
    // the hook's own cost: a read from here, sampled inside, less the usage just before
    bmO0=process.memory(false).usage;bmO1=process.memory().usage;bmOn=1;bmFlash.read(4,${probe});bmOn=0;
    // (never below 0: a collection that frees garbage during the probe would take it under, and
    // its own figure then means nothing, so nothing is taken off)
    bmOv=[Math.max(0,bmPk[4*bmS+2]-bmO0),Math.max(0,bmPk[4*bmS+3]-bmO1)];
    bmBase=process.memory().usage;
    print("ML-BASE "+bmBase);
    print("ML-HOOK "+bmOv[0]+" "+bmOv[1]);
    return;
  }
  var h=bmFile.read(2);
  if(!h||h.length<2){clearInterval(bmIv);bmFile.close();setTimeout(function(){print("ML-DRIVE "+JSON.stringify({n:bmFn,base:bmBase,ov:bmOv,pk:[].slice.call(bmPk),st:meterline.receiver.state(),got:meterline.receiver.received(),ef:E.getErrorFlags()}));},50);return;}
  // a part ends: its figures, in case a later one runs out of memory
  if(h.charCodeAt(0)!==bmPh&&bmPh<bmS){var q=4*bmPh;print("ML-PART "+bmPh+" "+bmPk[q]+" "+bmPk[q+1]+" "+bmPk[q+2]+" "+bmPk[q+3]);}
  bmPh=h.charCodeAt(0);
  var n=h.charCodeAt(1),s=bmFile.read(n);h=0;
  for(var i=0;i<n;i++)bmBuf[i]=s.charCodeAt(i);
  s=0;bmFn++;bmOn=1;
  try{meterline.endpoint.events.received(bmBuf,n,200);}catch(e){print("ML-THREW "+bmFn+" "+e);}
  bmOn=0;
  var k=4*bmPh,r=process.memory(false).usage;if(r>bmPk[k])bmPk[k]=r;
  var m=process.memory().usage;if(m>bmPk[k+1])bmPk[k+1]=m;
  print("ML-NEXT "+bmFn+" "+r);
},100);
`;
}

/** The drive's frames.bin: each frame after its part number and its length. */
export function driveFile(frames: Uint8Array[], parts: number[]): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  parts.forEach((n, part) => { for (const end = i + n; i < end; i++) out.push(Buffer.from([part, frames[i].length]), Buffer.from(frames[i])); });
  return Buffer.concat(out);
}

/**
 * What --json writes: the figures main prints, as numbers. Variables; "live" is after a
 * collection, "withGarbage" before one; the +offsets of a download are from its drive's
 * baseline (at rest and the drive script); "Original" figures are re-costed for the
 * Original (null on a build whose variables are not the 17-byte ones the re-costing
 * assumes: build it with VARIABLES=2756).
 */
export interface MemoryFigures {
  bundle: string;
  program: string;
  programBytes: number;
  espruino: string;
  /** This build's variables and bytes per variable. */
  variables: number;
  variableBytes: number;
  atRest: number;
  errorFlags: string;
  recosted: boolean;
  /** The dump at rest: its variables on this build, and re-costed for the Original. */
  atRestDump: number;
  atRestOriginal: number | null;
  /** The plain download (the first drive's plain part). */
  plain: null | {
    frames: number; base: number; hookCost: number[] | null;
    liveAfterFrames: number; liveInFlash: number; withGarbageAfterFrames: number; withGarbageInFlash: number;
    livePeakOriginal: number | null; withGarbagePeakOriginal: number | null;
  };
  /** Each coded download. */
  coded: {
    rows: number; blocks: number; blockSize: number; missing: number; spare: number; keepsRepairRows: boolean;
    repairsSent: number; repairsKept: number; frames: number; outOfMemory: boolean;
    decoded: boolean; replies: number; wrong: string[]; threw: string | null; errorFlags: string;
    /** Null when it ran out of memory. */
    liveAfterFrames: number | null; withGarbageAfterFrames: number | null; liveInFlash: number | null; withGarbageInFlash: number | null;
    /** The live peak (the most of after frames and inside flash calls) and with garbage, on this build (at rest + the offset). */
    livePeakHere: number | null; withGarbagePeakHere: number | null;
    /** The decode's block buffers, and the variables more their flat strings take on the Original. */
    blockBuffers: number; layoutMore: number;
    livePeakOriginal: number | null; withGarbagePeakOriginal: number | null;
    /** livePeakOriginal + layoutMore: the figure against the target. */
    livePeakWithLayoutOriginal: number | null;
    /** Out of memory: the frame it failed in, of how many, the usage before it; and whether the run without the flash-call hooks decoded. */
    oom: null | { frame: number; usageBefore: number; base: number; withoutHooksDecoded: boolean | null };
  }[];
  /** The Original's variables, and the target for the coded download's live peak (issue 14). */
  originalVariables: number;
  target: number;
  ok: boolean;
}

/** Issue 14's target: the coded download's live peak, re-costed for the Original, at most this many variables. */
export const CODED_PEAK_TARGET = 2480;

export const TOOL: Tool = {
  name: "bench:memory", run: "npm run bench:memory --",
  about: "The meter program's variables on an Espruino Linux build: at rest and during plain and coded\ndownloads, re-costed for the Original (docs/meter.md, Memory). Needs npm run build first.",
  options: {
    espruino: { type: "string", value: "PATH", help: "the Espruino Linux build to measure (default: $ESPRUINO)" },
    "provision-with": { type: "string", value: "PATH", help: "a build with more variables to provision the flash with (default: the measured one)" },
    id: { type: "string", value: "N", default: "3002", help: "the meter's id" },
    bundle: { type: "string", value: "KIND", default: "original", help: "original: the LINUX meter built with the Original's feature set (no authentication code,\nits repair rows), as the issue's target counts; a meter board's name (ESP32...): that board's\nfeature set; linux: the shipped LINUX bundle" },
    json: { type: "string", value: "FILE", help: "the figures printed, as JSON (MemoryFigures in bench/memory.ts)" },
    dump: { type: "string", value: "FILE", help: "the at-rest E.dumpVariables() text the layout is re-costed from (to see what holds the variables)" },
  },
  examples: ["npm run bench:memory -- --espruino ~/Espruino/espruino"],
  notes: ["exit 0; 1 when a run failed or the meter ran out of memory; 2 for a bad argument"],
};

/** A failure with the tail of the interpreter's output printed first (on stdout). */
function failWith(why: string, tail: string): never {
  console.log(`bench:memory: the interpreter's output ends:\n${tail.slice(-600)}`);
  throw new ToolError(why);
}

async function main({ values: v }: Parsed): Promise<number> {
  let bin = (v.espruino as string | undefined) ?? process.env.ESPRUINO ?? "", provision = (v["provision-with"] as string | undefined) ?? "";
  const id = int("--id", v.id as string, 1, Id.MAX_METER)!;
  if (!bin) throw new UsageError("--espruino PATH is required: an Espruino Linux build (see docs/meter.md, Memory)");
  bin = interpreter("--espruino", bin);
  provision = provision ? interpreter("--provision-with", provision) : bin;
  const kind = v.bundle as string;
  // "original" is the Original's feature set; a board name another meter board's (issue 20: each board's feature set)
  const meterBoards = loadAllProfiles().filter((b) => b.roles.includes("meter") && b.board !== "LINUX").map((b) => b.board);
  const featuresOf = kind === "original" ? "ESPRUINOBOARD" : meterBoards.includes(kind) ? kind : null;
  if (!featuresOf && kind !== "linux") throw new UsageError(`--bundle must be original, linux or a meter board (${meterBoards.join(", ")}), not ${JSON.stringify(kind)}`);
  const json = v.json as string | undefined, dumpFile = v.dump as string | undefined;
  if (json) outputFolder("--json", json);
  if (dumpFile) outputFolder("--dump", dumpFile);
  const linux = loadProfile("LINUX"), source = featuresOf ? loadProfile(featuresOf) : linux, originalRows = source.repairRows;
  // a board's feature set on the Linux HAL: its crypto (the Original: none, no authentication
  // code, the CRC-32 digest chain), its repair rows, its decode, its tamper switch or none
  // (rollup.config.js, FEATURES_OF)
  const p: BoardProfile = featuresOf ? withFeaturesOf(linux, source) : linux;
  const file = featuresOf ? `bench/out/LINUX-${featuresOf}/meter.js` : "dist/LINUX/meter.js";
  if (featuresOf) {
    const b = spawnSync(process.execPath, ["--import", "tsx", "node_modules/rollup/dist/bin/rollup", "-c", "rollup.config.js", "--silent"], { env: { ...process.env, FEATURES_OF: featuresOf }, encoding: "utf8" });
    if (b.status !== 0) throw new ToolError(`building ${file} failed: ${(b.stderr || b.stdout).trim().split("\n")[0]}`);
  } else if (!existsSync(file)) throw new ToolError(`no ${file}: run npm run build first`);
  const program = readFileSync(file, "latin1").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "");
  // coded downloads: one of 100 blocks of 200 bytes (the bundle keeps min(spare slots,
  // repairRows) rows), one whose blocks of 204 bytes leave exactly the board's rows spare
  const coded = [codedShape(p, 78, 3, 200, 100), codedShape(p, 79, 4, 204, bufferCapacity(p, 204) - originalRows)];
  const dir = mkdtempSync(join(tmpdir(), "ml-memory-"));
  let plan = provisioningPlan({ board: "LINUX", role: "meter", id });
  plan = plan.replace(/^require\("Storage"\)\.write\("\.boot0".*$/m, `require("Storage").write(".boot0",${JSON.stringify('eval(require("Storage").read("mtext"))')});`);
  plan = plan.replace(/^load\(\);$/m, "");
  plan += `require("Storage").write("mtext",${JSON.stringify(program)});\n`;
  // the drive script stays in flash too (its function texts would otherwise take RAM the meter needs)
  plan += `require("Storage").write("mldrive",${JSON.stringify(driveScript(2, p.regions.buffer?.addr ?? p.flash.base))});\n`;
  plan += `print("ML-PROVISIONED");\n`;
  writeFileSync(join(dir, "plan.js"), plan);
  await runEspruino(provision, dir, "plan.js", "ML-PROVISIONED", 20000);
  const run = async (name: string, script: string, marker: string, ms: number, frames?: Buffer) => {
    const d = mkdtempSync(join(dir, `${name}-`));
    copyFileSync(join(dir, "espruino.flash"), join(d, "espruino.flash"));
    writeFileSync(join(d, "run.js"), script);
    if (frames) writeFileSync(join(d, "frames.bin"), frames);
    return runEspruino(bin, d, "run.js", marker, ms);
  };
  const rest = await run("rest", `setTimeout(function(){var m=process.memory();print("ML-REST "+m.usage+" "+m.total+" "+m.blocksize+" "+(global.meterline?meterline.lastError():-1)+" "+E.getErrorFlags()+" ML-END");},3000);`, "ML-END", 20000);
  const r = /ML-REST (\d+) (\d+) (\d+) (-?\d+) ?(\S*) ML-END/.exec(rest);
  if (!r) failWith("no figure from the rest run", rest);
  if (r[4] === "-1") failWith(`the meter did not start (${r[5] || "no error flags"})`, rest);
  // the re-costing assumes this build's layout: 64-bit, 12-bit references (VARIABLES 2048..4095), 17-byte blocks
  const recost = r[3] === "17";
  const dump = await run("layout", `setTimeout(function(){print("ML-DUMP");E.dumpVariables();print("ML-END");},3000);`, "ML-END", 30000);
  const cost = originalCost(dump.slice(dump.indexOf("ML-DUMP")));
  if (dumpFile) writeOutput("--dump", dumpFile, dump.slice(dump.indexOf("ML-DUMP")));
  // each coded download follows a plain one (the drive today) on its own run: one that runs
  // out of memory does not hide the other
  const drive = async (c: CodedShape, inside: boolean) => {
    const drv = driveFrames(id, p, [c]);
    const text = await run(`download-${c.rows}-rows${inside ? "" : "-unsampled"}`, `var bmIn=${inside ? 1 : 0};eval(require("Storage").read("mldrive"));`, "ML-DRIVE", 900000, driveFile(drv.frames, drv.parts));
    const dv = /ML-DRIVE (\{.*\})/.exec(text);
    const oom = text.includes("OUT OF MEMORY");
    if (!dv && !oom) failWith("no figure from the download run", text);
    const out = dv ? (JSON.parse(dv[1]) as { n: number; base: number; ov: number[]; pk: number[]; st: number; got: number; ef: string[] | undefined }) : null;
    const replies = [...text.matchAll(/ML-TX (\S+)/g)].map((x) => new Uint8Array(Buffer.from(x[1], "base64")));
    const frames = drv.frames.length, next = [...text.matchAll(/ML-NEXT (\d+) (\d+)/g)];
    const delivered = next.length ? Number(next[next.length - 1][1]) : 0, lastUsage = next.length ? Number(next[next.length - 1][2]) : 0;
    const base = Number(/ML-BASE (\d+)/.exec(text)?.[1] ?? 0);
    return {
      drv, out, oom, frames, delivered, lastUsage, base, text, replies: replies.length,
      // per part: [0] the most before a collection and [1] after one, after frames; [2], [3] inside flash calls
      pk: drv.parts.map((_, i) => (out ? out.pk.slice(4 * i, 4 * i + 4) : /ML-PART (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(text.slice(text.indexOf(`ML-PART ${i} `)))?.slice(2).map(Number) ?? [])),
      threw: /ML-THREW .*/.exec(text)?.[0],
      // out of memory: the replies given so far
      wrong: checkReplies(replies, oom ? drv.replies.slice(0, replies.length) : drv.replies),
      ended: !!out && out.n === frames && out.st === Ust.VERIFIED && out.got === c.blocks,
      ef: (out?.ef ?? []).join(","),
    };
  };
  const runs = [];
  for (const c of coded) {
    const d = await drive(c, true);
    runs.push({ c, d, bare: d.oom ? await drive(c, false) : null });
  }
  const [total, usage] = [Number(r[2]), Number(r[1])];
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(0)}%`;
  const original = 2756;
  const plain = runs.find((x) => x.d.pk[0].length === 4);
  console.log(`bench:memory: ${featuresOf ? `the LINUX meter with ${source.name}'s feature set` : "the LINUX meter bundle"} (${file}, ${program.length} bytes) on ${bin}, ${total} variables`);
  console.log(`  at rest                      ${usage} variables (${pct(usage, total)})${r[5] ? `, error flags ${r[5]}` : ""}`);
  const fig: MemoryFigures = {
    bundle: kind, program: file, programBytes: program.length, espruino: bin, variables: total, variableBytes: Number(r[3]), atRest: usage, errorFlags: r[5] ?? "",
    recosted: recost, atRestDump: cost.here, atRestOriginal: recost ? cost.original : null, plain: null, coded: [], originalVariables: original, target: CODED_PEAK_TARGET, ok: false,
  };
  if (plain) {
    const k = plain.d.pk[0], b = plain.d.base;
    const live = Math.max(k[1], k[3]) - b, peak = Math.max(k[0], k[2]) - b, hook = /ML-HOOK (\d+) (\d+)/.exec(plain.d.text);
    fig.plain = {
      frames: plain.d.drv.parts[0], base: b, hookCost: hook ? hook.slice(1).map(Number) : null,
      liveAfterFrames: k[1] - b, liveInFlash: k[3] - b, withGarbageAfterFrames: k[0] - b, withGarbageInFlash: k[2] - b,
      livePeakOriginal: recost ? cost.original + live : null, withGarbagePeakOriginal: recost ? cost.original + peak : null,
    };
    console.log(`  download, after a collection +${k[1] - b} at most; inside a flash call +${k[3] - b}`);
    console.log(`  download, before one         +${k[0] - b} at most; inside a flash call +${k[2] - b}; ${plain.d.drv.parts[0]} frames (hook cost taken off: ${/ML-HOOK (\d+) (\d+)/.exec(plain.d.text)?.slice(1).join("/")})`);
  }
  const peaks: string[] = [];
  let bad = false;
  for (const { c, d, bare } of runs) {
    const rp = d.drv.repairs[0];
    const n = p.decode === "streamed" ? 3 : c.rows + 3;
    const bytes = ((c.blockSize + 15) >> 4) << 4, more = n * (Math.ceil(bytes / 13) - Math.ceil(bytes / 17));
    const cf: MemoryFigures["coded"][number] = {
      rows: c.rows, blocks: c.blocks, blockSize: c.blockSize, missing: c.missing.length, spare: c.spare, keepsRepairRows: c.rows === p.repairRows,
      repairsSent: rp.sent, repairsKept: rp.kept, frames: d.frames, outOfMemory: !d.out, decoded: d.ended, replies: d.replies, wrong: d.wrong, threw: d.threw ?? null, errorFlags: d.ef,
      liveAfterFrames: null, withGarbageAfterFrames: null, liveInFlash: null, withGarbageInFlash: null, livePeakHere: null, withGarbagePeakHere: null,
      blockBuffers: n, layoutMore: more, livePeakOriginal: null, withGarbagePeakOriginal: null, livePeakWithLayoutOriginal: null, oom: null,
    };
    fig.coded.push(cf);
    console.log(`  ${`coded, ${c.rows} rows`.padEnd(29)}${c.blocks} blocks of ${c.blockSize}, ${c.missing.length} missing, ${c.spare} spare slots: the bundle keeps ${c.rows} rows (${c.rows === p.repairRows ? "its repairRows" : "every spare slot"}); ${rp.sent} repair blocks, ${rp.kept} kept`);
    if (d.out) {
      const k = d.pk[1], b = d.base, peak = Math.max(k[0], k[2]) - b;
      console.log(`    after frames +${k[1] - b} after a collection, +${k[0] - b} before one; inside flash calls (the decode's): +${k[3] - b} after, +${k[2] - b} before`);
      console.log(`    ${d.ended ? `decoded: image ${c.imageId} verified, ${d.out.got} blocks` : `NOT decoded: state ${d.out.st}, ${d.out.got} blocks`}; ${d.wrong.length ? `replies WRONG: ${d.wrong.join("; ")}` : `all ${d.replies} replies as expected (DEFICIT needed ${c.missing.length} room ${c.rows}, DOWNLOAD_COMPLETE)`}${d.threw ? `; ${d.threw}` : ""}${d.ef ? `; error flags ${d.ef}` : ""}`);
      // the decode's block buffers (a row each, a held block, a read block, a slot) are flat
      // strings: 17-byte variables here, 13-byte on the Original, which the re-costing at rest
      // does not see
      // (streamed: one buffer it builds in, a block read, a slot written)
      const live = Math.max(k[1], k[3]) - b;
      Object.assign(cf, {
        liveAfterFrames: k[1] - b, withGarbageAfterFrames: k[0] - b, liveInFlash: k[3] - b, withGarbageInFlash: k[2] - b, livePeakHere: usage + live, withGarbagePeakHere: usage + peak,
        livePeakOriginal: recost ? cost.original + live : null, withGarbagePeakOriginal: recost ? cost.original + peak : null, livePeakWithLayoutOriginal: recost ? cost.original + live + more : null,
      });
      peaks.push(`live peak about ${cost.original + live} of ${original} (${pct(cost.original + live, original)}) in the coded download, ${c.rows} rows, ${cost.original + peak} counting garbage not yet collected (this build: ${usage + live}, ${usage + peak}); its ${n} block buffers take about ${more} more there`);
      if (!d.ended || d.wrong.length || d.threw || d.ef) bad = true;
    } else {
      bad = true;
      const how = bare ? (bare.out && bare.ended ? `without sampling inside flash calls it decodes (all ${bare.replies} replies ${bare.wrong.length ? "but WRONG: " + bare.wrong.join("; ") : "as expected"}): less room left at its peak than a sample takes` : `the same without sampling inside flash calls${bare.oom ? ` (frame ${bare.delivered + 1})` : ""}`) : "";
      const at = d.delivered + 1;
      cf.oom = { frame: at, usageBefore: d.lastUsage, base: d.base, withoutHooksDecoded: bare ? !!(bare.out && bare.ended) : null };
      const kind = at === d.frames - 1 ? "the last repair block, which starts the decode" : at > d.frames - 1 - d.drv.repairs[0].sent && at < d.frames ? "a repair block" : "not a repair block";
      console.log(`    OUT OF MEMORY in frame ${at} of ${d.frames}, ${kind}, with ${d.lastUsage} in use before it (the drive's baseline ${d.base}: at rest and the drive script); its ${d.replies} replies so far ${d.wrong.length ? "WRONG: " + d.wrong.join("; ") : "as expected"}; ${how}`);
      peaks.push(`out of memory in the coded download, ${c.rows} rows`);
    }
  }
  if (plain) {
    const k = plain.d.pk[0], peak = Math.max(k[0], k[2]) - plain.d.base;
    if (recost) {
      const live = Math.max(k[1], k[3]) - plain.d.base;
      console.log(`  re-costed for the Original   ${cost.original} at rest (this build: ${cost.here}); live peak about ${cost.original + live} of ${original} (${pct(cost.original + live, original)}) in the download, ${cost.original + peak} counting garbage not yet collected`);
      for (const x of peaks) console.log(`${" ".repeat(31)}${x}`);
    } else console.log(`  re-costed for the Original   needs a build with VARIABLES=2756 (this one has ${r[3]}-byte variables)`);
  }
  fig.ok = !bad;
  if (json) writeOutput("--json", json, JSON.stringify(fig, null, 1) + "\n");
  return bad ? 1 : 0;
}

if (isMain(import.meta.url)) cli(TOOL, main, { exit: true });
