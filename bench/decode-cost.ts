/*
 * npm run bench:decode -- --espruino PATH [--json out.json] [--case big|original|both] [--runs N]
 *                          [--program flash|ram] [--bundle FILE]
 *
 * What the coded update method costs on the real interpreter (an Espruino Linux build):
 * a small ES5 program, bundled from the project's own modules (the meter as its entry starts
 * it, startMeter with the ST7580 driver, the endpoint, the update receiver and its decoder; the
 * Espruino HAL's flash and natives; the repair code), runs the worst meter's download in one
 * interpreter run and prints one JSON line; this script prints a table and, with --json, writes
 * every run's figures.
 *
 * One run, on the interpreter (nothing big is passed in):
 *   image     K blocks of pseudo-random bytes from a seed, written into a Storage file;
 *             the session's digest by firmware/common/update-image.ts digestChain over
 *             it (SHA-256 chain, or the CRC-32 chain for a board without SHA-256), so the
 *             receiver's own verify decides whether the image is right
 *   meter     startMeter on this flash; its ST7580 driver on a stand-in UART whose modem
 *             answers each request (ACK and confirm) when pumped. Every message from the
 *             concentrator reaches it as the modem's DL_DATA indication bytes, so a frame
 *             costs what it costs a meter: the framer's bytes and checksum, the ACK, the
 *             endpoint's decode, the meter's dispatch, the receiver
 *   control   an UPDATE_CONTROL addressed to the meter: the buffer's units erased, SESSION logged
 *   receive   the K - m blocks not lost (m chosen from the seed), each a DATA_BLOCK frame:
 *             ms per frame, mean and max (a received block: the unit the decode is counted
 *             in), and of it the receiver's block() (write, read back, mark)
 *   repair    repair blocks j = repairIndex(degree, serial), serial 0, 1, 2..., each built
 *             as the concentrator builds it (campaign.ts repairBlock: the XOR of the
 *             degree's blocks, each read from the Storage file as console.ts blocksOf
 *             does); degree = round(LAMBDA K / need), need = ceil(lost + 2 sqrt(lost)),
 *             the campaign's first pass. Each goes to the meter as a REPAIR_BLOCK frame until
 *             the receiver has decoded and holds all K. A meter whose deficit exceeds its room
 *             (the Original: 8 rows) is a straggler: once its spare slots are full its
 *             missing blocks go out plain, as the campaign serves it, until the decode
 *             (or the last block) completes the image
 *   decode    the decoder's solve() timed on its own: the board's decoder factory is
 *             wrapped (tapped) to time solve(), sample process.memory() at the first
 *             recovered block and keep the work counters; the decoder is the project's.
 *             Its calls on arrival (rebuild, offer, keep) are timed too: in a kept repair
 *             frame they are the decode's work, the rest is receiving and storing the frame
 *             The rows decoder cleans and reduces a repair block when it keeps it, so its
 *             work is also in "kept repair() ms", printed beside
 *   memory    process.memory().usage (after a collection) at start, with the session
 *             open, before the decoding call, inside it (live) and after it
 *
 * The program text is kept in a Storage file and evaluated from there, as on a board that
 * maps flash, so it costs few variables; it is written in chunks by short runs first,
 * which a 2,756-variable build can evaluate. The flash is espruino.flash in a fresh
 * folder per run: Storage at the bottom, the state journal and buffer at the top.
 *
 * Reading the times: they are this host's interpreter, not a board's. The Linux build's
 * fake flash opens the espruino.flash file for every read and write, and reads a flash
 * string (Storage text, so also the program text with --program flash) 16 bytes at a time
 * that way, which a board reading mapped flash does not pay: each run prints what a flash
 * read, a flash write and a character of Storage text cost here, and a 53-word XOR loop as
 * the interpreter's speed. --program ram keeps the program text in RAM (more variables)
 * so that only the data's flash accesses pay that toll.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { rollup, type Plugin } from "rollup";
import typescript from "@rollup/plugin-typescript";
import terser from "@rollup/plugin-terser";
import { checkBundle } from "../tools/gate/gate";
import { loadProfile } from "../tools/profiles/profiles";
import { cli, int, interpreter, isMain, oneOf, outputFolder, type Parsed, type Tool } from "../tools/cli/cli";

const ROOT = resolve(new URL("..", import.meta.url).pathname);

/**
 * Flash of the Linux build (1 KiB pages); raw regions at the top, Storage grows from the
 * bottom. The meter's own regions beside the download's: its boot region and boot journal
 * (guarded, never written), registers, profile; its app region is the scratch unit, erased
 * (no program: version 0) once the calibration has used it.
 */
const SCRATCH = 0x10021c00;
const JOURNAL = 0x10022000;
const BOOT = 0x10022800, BOOT_JOURNAL = 0x10022c00, REGISTERS = 0x10023000, PROFILE = 0x10023800;
const BUFFER = 0x10024000;
const BUFFER_SIZE = 0x1c000; // 112 units: 448 slots of 212 bytes, K = 310 plus 128 rows

export interface Case {
  name: string;
  /** Image bytes, block size; K = ceil(size / blockSize). */
  size: number;
  blockSize: number;
  /** Blocks the worst meter lost, the loss the concentrator plans for, the meter's rows. */
  miss: number;
  loss: number;
  rows: number;
  /** The board's decode: streamed from flash (the Original) or rows in RAM (board profiles' decode). */
  streamed: boolean;
  sha: boolean;
  board: number;
  seed: number;
}

export const CASES: Record<string, Case> = {
  // 64 KiB image (ESP32-sized meter), 20% loss, 128 rows (ESP32 repairRows), SHA-256 chain
  big: { name: "K=310 20% rows 128", size: 65536, blockSize: 212, miss: 85, loss: 0.2, rows: 128, streamed: loadProfile("ESP32").decode === "streamed", sha: true, board: 1, seed: 0x1234567 },
  // the Original: its maxImageSize (32,640: 154 blocks, the last 204 bytes), 10% loss, repairRows 8, no SHA-256
  original: { name: "K=154 10% rows 8", size: 32640, blockSize: 212, miss: 24, loss: 0.1, rows: 8, streamed: loadProfile("ESPRUINOBOARD").decode === "streamed", sha: false, board: 2, seed: 0x7654321 },
};

/** The interpreter-side program: ES5 with imports, bundled with the project's modules. */
export function entrySource(): string {
  const p = (f: string) => JSON.stringify(join(ROOT, f));
  return `
import { espruinoHal } from ${p("hal/espruino/index.ts")};
import { bufferLayout, digestChain } from ${p("firmware/common/update-image.ts")};
import { decoder, rowsDecoder } from ${p("firmware/meter/decoder.ts")};
import { repairSets, repairIndex, xorInto } from ${p("firmware/protocol/repair.ts")};
import { LAMBDA } from ${p("firmware/concentrator/campaign.ts")};
import { bytesAt } from ${p("firmware/concentrator/keystore.ts")};
import { blocksOf } from ${p("firmware/concentrator/console.ts")};
import { startMeter } from ${p("firmware/meter/meter.ts")};
import { floorKeeper } from ${p("firmware/meter/authorise.ts")};
import { st7580Factory } from ${p("firmware/link/factory.ts")};
import { encodeFrame } from ${p("firmware/link/st7580/frame.ts")};
import { encodeMsg, newMsg, setMsg } from ${p("firmware/protocol/codec.ts")};
import { tap, tapped } from "dc:tap";

var step = "start";
function mark(s) { step = s; print("DC-STEP " + s + " " + process.memory(false).usage); }
function ms(t) { return (getTime() - t) * 1000; }
function used() { return process.memory().usage; }

function run(P) {
  var K = Math.ceil(P.size / P.bs), bs = P.bs, size = P.size, IMG = 77, i, t, e, dt;
  var S = require("Storage");
  var geometry = { base: 0x10000000, size: 262144, eraseUnits: [{ addr: 0x10000000, size: 1024, count: 256 }], writeAlign: 4 };
  var hal = espruinoHal({ geometry: geometry, uart: null, uartOptions: {}, pulsePin: null, led: null, treq: null, resetn: null, sha256: P.sha, memoryMapped: false });
  var native = hal.native;
  var res = { k: K, blockSize: bs, size: size, miss: P.miss, rows: P.rows, sha: !!native.sha256, mem: { start: used() } };

  // the image: pseudo-random blocks from the seed, into a Storage file
  mark("image");
  var q, x = (P.seed >>> 0) || 1, blk = new Uint8Array(bs), w32 = new Uint32Array(blk.buffer);
  function rnd() { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; }
  for (i = 0; i < K; i++) {
    for (q = 0; q < w32.length; q++) w32[q] = rnd();
    var len = Math.min(bs, size - i * bs), str = E.toString(blk.subarray(0, len));
    if (!(i ? S.write("dcimg", str, i * bs) : S.write("dcimg", str, 0, size))) throw new Error("Storage.write failed at block " + i);
  }
  var img = S.read("dcimg");
  if (!img || img.length !== size) throw new Error("the image file did not read back");
  var fs = S.getStats();
  if (0x10000000 + fs.fileBytes + fs.trashBytes > P.scratch) throw new Error("Storage reaches the raw regions");
  var imgCrc = E.CRC32(img);
  // console.ts blocksOf: block i of an image held as a Storage string, with the native the
  // concentrator's entry gives it (E.toUint8Array on the string's part)
  var blockOf = blocksOf({ stringToBytes: E.toUint8Array }, img, 0, bs);

  // the session and its digest (the console's digestInto)
  mark("digest");
  var s = { imageId: IMG, version: 2, board: P.board, size: size, blockSize: bs, blockCount: K, activateAt: 0, digest: new Uint8Array(32) };
  var chain = digestChain(native, s);
  for (i = 0; i < K; i++) chain.step(blockOf(i));
  s.digest.set(chain.result());

  // what this build's flash costs: every read or write of the Linux build's fake flash
  // opens the espruino.flash file (a board reads mapped flash); a flash string (Storage)
  // is read 16 bytes at a time that way. And the interpreter's speed on a word XOR loop.
  mark("calibrate");
  var cal = {}, N = 200, four = new Uint8Array(4), rs = E.toString(blk), a32 = new Uint32Array(53), b32 = new Uint32Array(53);
  t = getTime();
  for (i = 0; i < N; i++) hal.flash.read(P.buffer, bs);
  cal.flashRead212 = ms(t) / N;
  hal.flash.erase(P.scratch);
  t = getTime();
  for (i = 0; i < N; i++) hal.flash.write(P.scratch + 4 * i, four);
  cal.flashWrite4 = ms(t) / N;
  hal.flash.erase(P.scratch);
  t = getTime();
  for (i = 0; i < N; i++) img.charCodeAt(i);
  cal.flashCharCodeAt = ms(t) / N;
  t = getTime();
  for (i = 0; i < N; i++) rs.charCodeAt(i);
  cal.ramCharCodeAt = ms(t) / N;
  t = getTime();
  for (i = 0; i < 20; i++) bytesAt(rs, 0, bs);
  cal.bytesAtRam212 = ms(t) / 20;
  // a block of the image from Storage, as the concentrator reads it (natively), and a character at a time
  t = getTime();
  for (i = 0; i < 20; i++) blockOf(i);
  cal.storageBlock212 = ms(t) / 20;
  t = getTime();
  for (i = 0; i < 20; i++) bytesAt(img, i * bs, bs);
  cal.storageBytesAt212 = ms(t) / 20;
  t = getTime();
  for (i = 0; i < 20; i++) for (var w = 0; w < 53; w++) a32[w] ^= b32[w];
  cal.xorLoop53 = ms(t) / 20;
  res.calibration = cal;

  mark("control");
  res.mem.bench = used();
  // the meter as its entry starts it (firmware/meter/meter.ts startMeter), on this flash: the
  // ST7580 driver on a stand-in UART whose modem answers each request (ACK, then the confirm)
  // when pumped, and every frame delivered as the modem's DL_DATA indication bytes, so a
  // received block is what a meter does with one: the framer's bytes and checksum, the ACK,
  // the endpoint's decode, the meter's dispatch, the receiver's write, read-back and mark
  hal.flash.erase(P.scratch);
  var modemIn = null, asked = [], ind = new Uint8Array(262), none = new Uint8Array(0);
  var fakeSerial = {
    setup: function () {},
    write: function (d) { if (d.charCodeAt(0) === 2) asked.push(d.charCodeAt(2)); },
    on: function (ev, fn) { if (ev === "data") modemIn = fn; },
  };
  // the modem's answers to what the driver asked: ACK, then the request's confirm (its code + 1)
  function pump() {
    while (asked.length) { var k = encodeFrame(asked.shift() + 1, none, ind); modemIn("\\x06" + E.toString(ind.subarray(0, k))); }
  }
  var mhal = espruinoHal({ geometry: geometry, uart: fakeSerial, uartOptions: {}, pulsePin: null, led: null, treq: null, resetn: null, sha256: P.sha, memoryMapped: false });
  var regions = {
    boot: { addr: P.boot, size: 1024 }, journal: { addr: P.bootJournal, size: 1024 }, registers: { addr: P.registers, size: 2048 },
    profile: { addr: P.profile, size: 2048 }, state: { addr: P.journal, size: 2048 }, app: { addr: P.scratch, size: 1024 }, buffer: { addr: P.buffer, size: P.bufferSize },
  };
  var METER = 3002, CONC = 0xffff0001;
  var meter = startMeter(mhal, { board: "BENCH", code: P.board, baud: 57600, maxImageSize: size, repairRows: P.rows }, st7580Factory(57600), regions, { id: METER, kind: 1, groups: [] }, undefined, floorKeeper, tapped(P.streamed ? decoder : rowsDecoder), true);
  pump();
  var rx = meter.receiver;
  // the receiver's own share of a frame, and what it answered
  var inner = 0, code = 0, rxBlock = rx.block, rxRepair = rx.repair;
  rx.block = function (a, b, c) { var t0 = getTime(); code = rxBlock(a, b, c); inner += getTime() - t0; return code; };
  rx.repair = function (a, b, c) { code = rxRepair(a, b, c); return code; };
  // a message from the concentrator as the modem hands it over: 4 header bytes (byte 1 the SNR), then the frame
  var msg = newMsg(), mbuf = new Uint8Array(246), seq = 0;
  function frameOf(type, mode, dst, body) {
    seq = (seq + 1) & 0xffff;
    var n = encodeMsg(setMsg(msg, type, seq, CONC, mode, dst, body), mbuf.subarray(4));
    if (n < 0) throw new Error("cannot encode message 0x" + type.toString(16) + ": E" + -n);
    mbuf[0] = 0; mbuf[1] = 40; mbuf[2] = 0; mbuf[3] = 0;
    var k = encodeFrame(0x52, mbuf.subarray(0, 4 + n), ind);
    return E.toString(ind.subarray(0, k));
  }
  // a frame delivered to the meter and answered, timed (took, s): only the delivery, the
  // frame is built before it (building it is the concentrator's work, not the meter's)
  var took = 0;
  function deliver(f) { var t0 = getTime(); code = 0; modemIn(f); pump(); took = getTime() - t0; return code; }
  res.mem.idle = used();
  var ctl = frameOf(0x41, 0, METER, { imageId: IMG, version: s.version, board: s.board, size: s.size, blockSize: s.blockSize, blockCount: s.blockCount, digest: s.digest, activateAt: 0, start: 1 });
  deliver(ctl);
  res.controlMs = took * 1000;
  if (!rx.session() || rx.session().imageId !== IMG) throw new Error("the meter took no session from the control (state " + rx.state() + ", last error " + meter.lastError() + ")");
  res.mem.session = used();

  // the worst meter's losses: m blocks drawn from the seed
  var order = new Uint16Array(K), lost = new Uint8Array(K);
  for (i = 0; i < K; i++) order[i] = i;
  for (i = 0; i < P.miss; i++) { var r = i + rnd() % (K - i), o = order[i]; order[i] = order[r]; order[r] = o; lost[order[i]] = 1; }

  mark("receive");
  var n = 0, sum = 0, max = 0, fsum = 0, fmax = 0;
  for (i = 0; i < K; i++) {
    if (lost[i]) continue;
    var f = frameOf(0x42, 2, 0xffffffff, { imageId: IMG, index: i, data: blockOf(i) });
    inner = 0;
    e = deliver(f);
    dt = took;
    if (e) throw new Error("block " + i + " refused: E" + e);
    n++; sum += inner; if (inner > max) max = inner;
    fsum += dt; if (dt > fmax) fmax = dt;
  }
  if (rx.received() !== K - P.miss) throw new Error("received " + rx.received() + ", expected " + (K - P.miss));
  // the receiver's block() alone, and the whole frame: the unit the decode is counted in
  res.blockMs = { mean: (sum / n) * 1000, max: max * 1000, n: n };
  res.frameMs = { mean: (fsum / n) * 1000, max: fmax * 1000, n: n };
  res.mem.received = used();

  // the concentrator's repair block (campaign.ts repairBlock)
  var sets = repairSets(K), rbuf = new Uint8Array(bs);
  function repairBlock(j) {
    var c = sets.set(j);
    for (var z = 0; z < rbuf.length; z++) rbuf[z] = 0;
    for (var b = 0; b < c; b++) xorInto(rbuf, blockOf(sets.out[b]));
    return rbuf;
  }
  var lostN = K * P.loss, need = Math.ceil(lostN + 2 * Math.sqrt(lostN));
  var deg = Math.max(1, Math.min(127, Math.round((LAMBDA * K) / Math.max(1, need))));
  res.degree = deg;
  mark("concentrator");
  t = getTime();
  for (q = 0; q < P.concSamples; q++) repairBlock(repairIndex(80, q));
  res.conc80 = { ms: ms(t) / P.concSamples, degree: sets.set(repairIndex(80, 0)) };

  mark("repair");
  var dsum = 0, dn = 0, serial = 0, offered = 0, csum = 0, cn = 0, rsum = 0, rmax = 0, rn = 0, plain = 0, psum = 0, pn = 0, next = 0, ksum = 0, kmax = 0, kn = 0;
  // no deficit() call between steps (it rebuilds the decoder's rows, which a meter does
  // inside the next block or repair call): while no plain block has arrived each kept
  // repair block adds one to the rank, so the meter lacks miss - kept
  var before = -1, cap = 4 * P.miss + 64, room = Math.min(bufferLayout(P.buffer, P.bufferSize, 1024, bs).capacity - K, P.rows);
  // the decoder's rows live in one buffer: a flat string (one block of RAM) or, when no
  // free run is long enough, a chain of variables that every indexed access walks
  tap.onFirst = function (data) { res.mem.inDecodeRaw = process.memory(false).usage; res.mem.inDecode = used(); res.rowsFlat = E.getAddressOf(data.buffer, true) !== 0; };
  while (rx.received() < K) {
    var dec0 = rx.stats.decodes, viaRepair = !plain && rx.stats.repairs < room && offered < cap, j = 0, data;
    if (viaRepair) {
      if (serial > 255) { deg++; serial = 0; }
      j = repairIndex(deg, serial++);
      t = getTime();
      data = repairBlock(j);
      csum += getTime() - t; cn++;
      // the call that may complete the rank: the usage just before it
      if (P.miss - rx.stats.repairs === 1) { before = used(); print("DC-BEFORE " + before); }
    } else {
      // a straggler: its next missing block, plain
      while (next < K && !lost[next]) next++;
      if (next >= K) throw new Error("every block sent, " + rx.received() + " held");
      j = next++;
      data = blockOf(j);
      if (K - rx.received() - 1 <= rx.stats.repairs) { before = used(); print("DC-BEFORE " + before); }
    }
    tap.sampleMs = 0;
    var kept0 = rx.stats.repairs, call0 = tap.callMs;
    var fr = frameOf(viaRepair ? 0x4d : 0x42, 2, 0xffffffff, { imageId: IMG, index: j, data: data });
    e = deliver(fr);
    dt = took * 1000;
    if (e) throw new Error((viaRepair ? "repair " : "block ") + j + " refused: E" + e);
    if (viaRepair) offered++; else plain++;
    if (rx.stats.decodes !== dec0) {
      // the decoding call: store, decode, verify (less the memory sample taken inside it)
      res.decodeCall = { ms: dt - tap.sampleMs, via: viaRepair ? "repair" : "block" };
      res.mem.beforeDecode = before;
      res.mem.afterDecode = used();
      continue;
    }
    // the decoder's own calls in every frame before the completing one (kept, useless or plain)
    dsum += tap.callMs - call0; dn++;
    if (viaRepair) {
      rn++; rsum += dt; if (dt > rmax) rmax = dt;
      // a repair block kept: stored, and (rows decoder) cleaned and reduced on arrival
      if (rx.stats.repairs !== kept0) { kn++; ksum += dt; if (dt > kmax) kmax = dt; }
    }
    else { pn++; psum += dt; }
  }
  res.repairMs = { mean: rn ? rsum / rn : 0, max: rmax, n: rn };
  res.keptMs = { mean: kn ? ksum / kn : 0, max: kmax, n: kn, sum: ksum };
  // the decoder's own calls in the frames before the completing one (not receiving, not storing the block)
  res.decoderMs = { sum: dsum, n: dn };
  res.concMs = { ms: cn ? (csum / cn) * 1000 : 0, degree: cn ? sets.set(repairIndex(res.degree, 0)) : 0, n: cn };
  res.offered = offered;
  res.kept = rx.stats.repairs;
  res.useless = rx.stats.useless;
  res.plain = plain;
  res.plainMs = pn ? psum / pn : 0;
  res.decodes = rx.stats.decodes;
  res.decodeMs = tap.solves ? tap.solveMs : 0;
  res.work = tap.d ? { cleanXors: tap.d.work.cleanXors, rowXors: tap.d.work.rowXors } : null;
  res.state = rx.state();
  res.verified = rx.state() === 3;
  res.imageIntact = E.CRC32(S.read("dcimg")) === imgCrc;
  res.mem.end = used();
  var m = process.memory();
  res.mem.total = m.total;
  res.mem.blocksize = m.blocksize;
  res.flags = E.getErrorFlags();
  return res;
}

try {
  var out = run(DC);
  print("DC-RESULT " + JSON.stringify(out));
} catch (err) {
  print("DC-FAIL " + step + ": " + err);
}
`;
}

/** A wrapper around the board's decoder factory that times solve() and keeps the work counters; the decoder code is the project's, unchanged. */
function tapSource(): string {
  return `
export var tap = { d: null, solves: 0, solveMs: 0, sampleMs: 0, onFirst: null, callMs: 0 };
// the time spent in the decoder's calls on arrival (rebuild, offer, keep): its own work in a repair frame
function timed(f) {
  return function (a, b, c, d, e) { var t = getTime(), r = f(a, b, c, d, e); tap.callMs += (getTime() - t) * 1000; return r; };
}
export function tapped(make) {
  return function (k, blockSize, rows) {
    var d = make(k, blockSize, rows), solve = d.solve;
    tap.d = d;
    d.rebuild = timed(d.rebuild);
    d.offer = timed(d.offer);
    d.keep = timed(d.keep);
    d.solve = function (blockLength, readBlock, readRepair, write) {
      var first = true, t = getTime();
      var e = solve(blockLength, readBlock, readRepair, function (i, data) {
        if (first && tap.onFirst) { first = false; var s = getTime(); tap.onFirst(data); tap.sampleMs += (getTime() - s) * 1000; }
        return write(i, data);
      });
      tap.solves++;
      tap.solveMs += (getTime() - t) * 1000 - tap.sampleMs;
      return e;
    };
    return d;
  };
}
`;
}

/** The interpreter program as one ES5 script (rollup, TypeScript, terser: as rollup.config.js, without property renaming). */
export async function bundle(): Promise<string> {
  const ENTRY = "\0dc-entry", TAP = "\0dc-tap";
  const virtual: Plugin = {
    name: "decode-cost",
    resolveId(source) {
      if (source === "dc:entry") return ENTRY;
      if (source === "dc:tap") return TAP;
      return null;
    },
    load(id) { return id === ENTRY ? entrySource() : id === TAP ? tapSource() : null; },
  };
  const build = await rollup({
    input: "dc:entry",
    onwarn(w) { throw new Error(`rollup: ${w.message}`); },
    plugins: [
      virtual,
      typescript({ tsconfig: join(ROOT, "tsconfig.json"), noEmitOnError: true, outDir: join(ROOT, "dist/.decode-cost"), sourceMap: false, include: ["firmware/**/*.ts", "hal/**/*.ts", "types/*.d.ts"].map((g) => join(ROOT, g)) }),
      terser({ ecma: 5, compress: { passes: 2, unsafe: false, inline: 1, toplevel: true }, format: { comments: false, ascii_only: true }, mangle: { toplevel: true } }),
    ],
  });
  const { output } = await build.generate({ format: "es", generatedCode: "es5", strict: false });
  await build.close();
  const code = output[0].code;
  const problems = checkBundle(code).filter((p) => !(p.rule === "missing-api" && /\bDC\b/.test(p.message)));
  if (problems.length) throw new Error(`the bundle would not run on the interpreter: ${problems.map((p) => `${p.rule}: ${p.message}`).join("; ")}`);
  return code;
}

function crc32(s: string): number {
  let c = ~0;
  for (let i = 0; i < s.length; i++) {
    c ^= s.charCodeAt(i) & 0xff;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** Runs the interpreter on `file` in `dir` (stdin open and idle) until `marker`; kills it. */
function runEspruino(bin: string, dir: string, file: string, marker: string, timeoutMs: number, exitOk = false): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(bin, [file], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
    let out = "", over = false;
    const done = (err?: Error) => { if (over) return; over = true; clearTimeout(t); p.kill("SIGKILL"); if (err) rej(err); else res(out); };
    const t = setTimeout(() => done(new Error(`${bin} did not print ${marker} within ${timeoutMs / 1000} s (output ends: ${JSON.stringify(out.slice(-200))})`)), timeoutMs);
    p.stdout.on("data", (d) => { out += d.toString("latin1"); if (out.includes(marker)) setTimeout(() => done(), 20); });
    p.on("error", (e) => done(new Error(`cannot run ${bin}: ${e.message}`)));
    // the file-mode interpreter exits after an uncaught error (out of memory): its output is the answer
    p.on("exit", () => setTimeout(() => done(exitOk || out.includes(marker) ? undefined : new Error(`${bin} exited before ${marker} (output ends: ${JSON.stringify(out.slice(-200))})`)), 20));
  });
}

/** A flash file holding the program as Storage file "dcb", written in chunks a 2,756-variable build can evaluate. */
async function provision(bin: string, code: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ml-decode-"));
  const CHUNK = 3000;
  try {
    for (let off = 0; off < code.length; off += CHUNK) {
      const part = JSON.stringify(code.slice(off, off + CHUNK));
      const last = off + CHUNK >= code.length;
      writeFileSync(join(dir, "p.js"), `var S=require("Storage");print(S.write("dcb",${part},${off}${off ? "" : `,${code.length}`})?"DC-PROV "+${last ? `E.CRC32(S.read("dcb"))` : "0"}:"DC-PROV failed");print("DC-END");`);
      const out = await runEspruino(bin, dir, "p.js", "DC-END", 20000);
      const m = /DC-PROV (\S+)/.exec(out);
      if (!m || m[1] === "failed") throw new Error(`cannot write the program into Storage at ${off} (${m ? "write failed" : out.slice(-200)})`);
      if (last && Number(m[1]) !== crc32(code)) throw new Error("the program in Storage does not match the bundle");
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

export interface RunResult { case: string; run: number; binary: string; ok: boolean; outOfMemory: boolean; failure?: string; result?: any; lastStep?: string }

async function measure(bin: string, flashDir: string, c: Case, run: number, ramCode: string | null): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "ml-decode-run-"));
  if (existsSync(join(flashDir, "espruino.flash"))) copyFileSync(join(flashDir, "espruino.flash"), join(dir, "espruino.flash"));
  const params = { size: c.size, bs: c.blockSize, miss: c.miss, loss: c.loss, rows: c.rows, streamed: c.streamed, sha: c.sha, board: c.board, seed: c.seed + run, scratch: SCRATCH, journal: JOURNAL, buffer: BUFFER, bufferSize: BUFFER_SIZE, boot: BOOT, bootJournal: BOOT_JOURNAL, registers: REGISTERS, profile: PROFILE, concSamples: 16 };
  // the DC-END timer fires once the program has finished, or stopped (out of memory)
  writeFileSync(join(dir, "run.js"), `var DC=${JSON.stringify(params)};setTimeout(function(){print("DC-END "+E.getErrorFlags()+" "+process.memory().usage);},10);\n${ramCode ?? 'eval(require("Storage").read("dcb"));'}`);
  const base: RunResult = { case: c.name, run: run + 1, binary: bin, ok: false, outOfMemory: false };
  try {
    const out = await runEspruino(bin, dir, "run.js", "DC-END", 600000, true);
    writeFileSync(join(dir, "output.txt"), out);
    const steps = [...out.matchAll(/DC-STEP (\S+) (\d+)/g)];
    base.lastStep = steps.length ? `${steps[steps.length - 1][1]} (usage ${steps[steps.length - 1][2]})` : "start";
    base.outOfMemory = /out of memory|MEMORY/i.test(out.replace(/DC-STEP.*|DC-RESULT.*/g, ""));
    const r = /DC-RESULT (\{.*\})/.exec(out);
    if (r) {
      base.result = JSON.parse(r[1]);
      // a straggler (deficit beyond its rows) may get every missing block plain before its rows decode
      base.ok = base.result.verified && base.result.imageIntact && (base.result.decodes === 1 || base.result.plain > 0);
      if (!base.ok) base.failure = `not verified or no decode (state ${base.result.state}, decodes ${base.result.decodes}, image file ${base.result.imageIntact ? "intact" : "overwritten"})`;
    } else {
      const f = /DC-FAIL (.*)/.exec(out);
      const before = [...out.matchAll(/DC-BEFORE (\d+)/g)].pop();
      const where = /OUT OF MEMORY[\s\S]*?\n(\.\.\..*)/.exec(out);
      base.failure = base.outOfMemory
        ? `out of memory in step ${base.lastStep}${before ? `, ${before[1]} variables used before the decoding call` : ""}${where ? ` at ${JSON.stringify(where[1].trim().slice(0, 60))}` : ""}`
        : f ? f[1].trim() : `no result (output ends: ${JSON.stringify(out.slice(-200))})`;
    }
  } catch (e) {
    base.failure = e instanceof Error ? e.message : String(e);
  }
  if (base.ok) rmSync(dir, { recursive: true, force: true });
  else base.failure += ` [flash and program kept in ${dir}]`;
  return base;
}

/**
 * The unit the decode is counted in: a received block as the meter receives it, the whole
 * frame from the modem's bytes to the block stored (frameMs); results from before the meter
 * was run whole have only the receiver's block() (blockMs).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const unitOf = (r: any): { mean: number; max: number } => r.frameMs ?? r.blockMs;

const f1 = (n: number | undefined) => (n === undefined || n < 0 ? "-" : n.toFixed(n < 0.1 ? 4 : n < 10 ? 2 : 1));

function table(runs: RunResult[]): string {
  const head = ["case", "run", "vars", "received block ms mean/max", "of it block() ms", "repair frame ms mean/max", "kept repair() ms mean/max (= blocks)", "decode ms", "= blocks", "decoding call ms", "clean/row XORs", "offered/kept/plain", "conc ms @deg", "conc ms @80", "mem start/session/before/in/after", "verified"];
  const rows = runs.map((x) => {
    const r = x.result;
    if (!r) return [x.case, String(x.run), "-", x.outOfMemory ? "OUT OF MEMORY" : "FAILED", "(below)", "", "", "", "", "", "", "", "", "", "no"];
    const m = r.mem;
    return [
      x.case, String(x.run), String(m.total),
      `${f1(unitOf(r).mean)} / ${f1(unitOf(r).max)}`,
      f1(r.blockMs.mean),
      `${f1(r.repairMs.mean)} / ${f1(r.repairMs.max)}`,
      r.keptMs && r.keptMs.n ? `${f1(r.keptMs.mean)} / ${f1(r.keptMs.max)} (${f1(r.keptMs.mean / unitOf(r).mean)} / ${f1(r.keptMs.max / unitOf(r).mean)})` : "-",
      f1(r.decodeMs), unitOf(r).mean ? f1(r.decodeMs / unitOf(r).mean) : "-",
      r.decodeCall ? `${f1(r.decodeCall.ms)} (${r.decodeCall.via})` : "-",
      r.work ? `${r.work.cleanXors} / ${r.work.rowXors}` : "-",
      `${r.offered} / ${r.kept} / ${r.plain}`,
      `${f1(r.concMs.ms)} @${r.concMs.degree}`, `${f1(r.conc80.ms)} @${r.conc80.degree}`,
      [m.start, m.session, m.beforeDecode, m.inDecode, m.afterDecode].map((v: number | undefined) => (v === undefined || v < 0 ? "-" : String(v))).join("/"),
      r.verified ? "yes" : `no (state ${r.state})`,
    ];
  });
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd()).join("\n");
}

/** The commit measured and the firmware files changed since (the figures belong to that source). */
function sourceState(): { commit: string; changed: string[] } | null {
  try {
    const git = (...a: string[]) => execFileSync("git", ["-C", ROOT, ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { commit: git("rev-parse", "HEAD").trim(), changed: git("status", "--porcelain", "--", "firmware", "hal").split("\n").filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return null;
  }
}

export const TOOL: Tool = {
  name: "bench:decode", run: "npm run bench:decode --",
  about: "The coded method's decode and a received block timed on an Espruino Linux build, and the\nconcentrator's cost per repair block (docs/update.md, Coded campaign).",
  options: {
    espruino: { type: "string", value: "PATH", required: true, help: "an Espruino Linux build (2v29); a VARIABLES=2756 build runs out of memory where the Original would" },
    json: { type: "string", value: "FILE", help: "every run's figures as JSON" },
    case: { type: "string", value: "C", default: "both", help: "big (K=310, 20% loss, 128 rows, SHA-256), original (K=154, 10% loss, 8 rows, CRC-32) or both" },
    runs: { type: "string", value: "N", default: "1", help: "runs of each case, 1 to 100" },
    program: { type: "string", value: "P", default: "flash", help: "flash: the program text in a Storage file, evaluated in place as on a board that maps flash; ram: in the run file (faster here, more variables)" },
    bundle: { type: "string", value: "FILE", help: "the interpreter program: read from FILE if it exists, else built and saved there (the same program while the sources change)" },
  },
  examples: ["npm run bench:decode -- --espruino ~/Espruino/espruino --case original --runs 3"],
  notes: ["exit 0; 1 when a run failed; 2 for a bad argument"],
};

async function main({ values: v }: Parsed): Promise<number> {
  const values = v as { espruino: string; json?: string; case: string; runs: string; program: string; bundle?: string };
  const bin = interpreter("--espruino", values.espruino);
  const which = oneOf("--case", values.case, ["big", "original", "both"] as const);
  const cases = which === "both" ? [CASES.big, CASES.original] : [CASES[which]];
  const runs = int("--runs", values.runs, 1, 100)!;
  oneOf("--program", values.program, ["flash", "ram"] as const);
  if (values.json) outputFolder("--json", values.json);

  const saved = values.bundle && existsSync(values.bundle) ? readFileSync(values.bundle, "latin1") : null;
  const code = saved ?? (await bundle());
  if (values.bundle && !saved) writeFileSync(values.bundle, code, "latin1");
  // the source the program was built from (unknown for a saved one)
  const src = saved ? null : sourceState();
  const flashDir = await provision(bin, values.program === "flash" ? code : "");
  const results: RunResult[] = [];
  try {
    for (const c of cases) for (let r = 0; r < runs; r++) results.push(await measure(bin, flashDir, c, r, values.program === "ram" ? code : null));
  } finally {
    rmSync(flashDir, { recursive: true, force: true });
  }
    console.log(`bench:decode: ${bin}, program ${code.length} bytes ${values.program === "ram" ? "in RAM" : "from Storage"}${saved ? ` (${values.bundle})` : ""}${src ? `, source ${src.commit.slice(0, 7)}${src.changed.length ? ` + ${src.changed.length} changed firmware/hal files` : ""}` : ""}; times in ms on this host's interpreter`);
  console.log(table(results));
  for (const x of results) if (x.failure) console.log(`  ${x.case} run ${x.run}: ${x.failure}`);
  // the whole decode: the rows decoder's work on arrival (every kept repair block's call,
  // its storing included) plus the call that completes the rank; the streamed decoder's
  // arrival calls store and count bits only
  for (const x of results) {
    const r = x.result;
    if (!r || !r.decodeCall || !unitOf(r).mean) continue;
    const kept = r.keptMs?.sum ?? 0, whole = kept + r.decodeCall.ms;
    if (r.decoderMs) {
      const work = r.decoderMs.sum + r.decodeCall.ms, b = unitOf(r).mean, beyond = whole / b - ((r.keptMs?.n ?? 0) + 1);
      console.log(`  ${x.case} run ${x.run}: decode work ${f1(work)} ms = ${f1(work / b)} received blocks (the decoder's calls in ${r.decoderMs.n} frames ${f1(r.decoderMs.sum)} ms + the decoding frame); the whole decode less receiving its frames ${f1(beyond)}; the target counts the larger: ${f1(Math.max(work / b, beyond))}`);
    }
    console.log(`  ${x.case} run ${x.run}: whole decode ${f1(whole)} ms = ${f1(whole / unitOf(r).mean)} received blocks of ${f1(unitOf(r).mean)} ms (${r.keptMs?.n ?? 0} kept repair frames ${f1(kept)} ms, receiving and storing them included, + the decoding frame ${f1(r.decodeCall.ms)} ms, its digest check included; in the receiver's block() alone, ${f1(r.blockMs.mean)} ms, ${f1(whole / r.blockMs.mean)})`);
  }
  for (const x of results) {
    const k = x.result?.calibration;
    if (k) console.log(`  ${x.case} run ${x.run}: this build's fake flash: read 212 B ${f1(k.flashRead212)}, write 4 B ${f1(k.flashWrite4)}, charCodeAt on a Storage string ${f1(k.flashCharCodeAt)} (RAM string ${f1(k.ramCharCodeAt)}); bytesAt 212 B of a RAM string ${f1(k.bytesAtRam212)}; a 212-byte block of Storage text as the concentrator reads it ${f1(k.storageBlock212)} (a character at a time ${f1(k.storageBytesAt212)}); 53-word XOR loop ${f1(k.xorLoop53)}; control (erase) ${f1(x.result.controlMs)}`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ binary: bin, program: values.program, programBytes: code.length, programSha256: createHash("sha256").update(code).digest("hex"), source: src, bundleFile: values.bundle ?? null, runs: results }, null, 2) + "\n");
  const bad = results.filter((x) => !x.ok);
  if (bad.length) {
    console.error(`bench:decode: ${bad.length} of ${results.length} runs failed; first: ${bad[0].case} run ${bad[0].run}: ${bad[0].failure}`);
    return 1;
  }
  return 0;
}

if (isMain(import.meta.url)) cli(TOOL, main, { exit: true });
