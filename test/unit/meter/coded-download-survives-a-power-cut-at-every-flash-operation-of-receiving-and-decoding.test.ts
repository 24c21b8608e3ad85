/*
 * The coded download through power cuts: the meter's update receiver takes the image with
 * some blocks lost and repair blocks in their place (stored in spare slots, then decoded
 * into the missing blocks' own slots), and the power goes before, after or in the middle
 * of every flash operation of it. After each cut the receiver starts again from flash,
 * the concentrator goes on (more repair blocks while the meter has room, plain blocks when
 * it has not), and the meter must end verified with the image's blocks, having written
 * every word at most once between erases (the mock flash refuses anything else) and
 * nothing outside its buffer and state log. Every mode of CUT_MODES (noisy erases and
 * writes included), then a second cut in the recovery; on four boards' geometries.
 */
import { describe, expect, it } from "vitest";
import { CUT_MODES, MockFlash, modesFor, PowerCut, type CutMode } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { Rng } from "../../../hal/mock/rng";
import { recordLog } from "../../../firmware/common/records";
import { updateReceiver, type Receiver } from "../../../firmware/meter/update";
import { blockAddr, bufferLayout, STATE_SLOT } from "../../../firmware/common/update-image";
import { eraseUnitAt } from "../../../firmware/common/layout";
import { forEachMissing, type MissingReport } from "../../../firmware/protocol/missing";
import { repairIndex, repairSets, xorInto } from "../../../firmware/protocol/repair";
import { blockOf } from "../../../bench/image";
import { makeImage } from "../../harness/scripted-concentrator";
import { boardFlash, profileRegions, type CutBoard } from "../../harness/power-cut-boards";
import { loadProfile, meterDecoder } from "../../../tools/profiles/profiles";
import { rowsDecoder, type DecoderOf } from "../../../firmware/meter/decoder";

/**
 * Each meter board's state log and buffer as its profile places them (the Original's 2 KiB
 * pages: 10 slots of 200-byte blocks a unit; the Linux build's 1 KiB: 5; the ESP32's 4 KiB:
 * 20), with its repair rows; and the STM32F4's mixed sectors (the Pico's flash, no meter
 * board: the buffer in its 128 KiB sector, 642 slots, the state log in two 16 KiB sectors).
 */
const BOARDS: (CutBoard & { rows: number; decoder: DecoderOf })[] = [
  ...["ESPRUINOBOARD:Original, 2 KiB pages", "LINUX:Linux build, 1 KiB pages", "ESP32:ESP32, 4 KiB sectors"].map((x) => {
    const [board, name] = x.split(":");
    return { ...boardFlash(board, name, profileRegions(board, ["state", "buffer"])), rows: loadProfile(board).repairRows, decoder: meterDecoder(loadProfile(board)) };
  }),
  { ...boardFlash("PICO", "STM32F4 (Pico), 128 KiB buffer sector", { state: { addr: 0x08008000, size: 32768 }, buffer: profileRegions("PICO", ["buffer"]).buffer }), rows: 8, decoder: rowsDecoder },
];
const img = makeImage(7800, 200, { version: 2 }); // 39 blocks: on 2 KiB pages the last unit holds blocks and spare slots
const K = img.session.blockCount;
const LOST = [0, 9, 10, 17, 30, 37, 38];
const sets = repairSets(K);

function repair(j: number): Uint8Array {
  const out = new Uint8Array(200), n = sets.set(j);
  for (let k = 0; k < n; k++) xorInto(out, blockOf(img, sets.out[k]));
  return out;
}

function receiver(b: CutBoard & { rows: number; decoder: DecoderOf }, flash: MockFlash): Receiver {
  return updateReceiver(flash, hostNative, b.r.buffer!, recordLog(flash, b.r.state!, STATE_SLOT, true, hostNative), { version: 1, floor: 0, board: 1, maxImage: 16000, rows: b.rows, decoder: b.decoder, unpacks: true });
}

/** The campaign as the meter sees it: the control, the blocks but the lost ones, then repair blocks. */
function script(): ((r: Receiver) => void)[] {
  const steps: ((r: Receiver) => void)[] = [(r) => expect(r.control(img.session, true)).toBe(0)];
  for (let i = 0; i < K; i++) if (!LOST.includes(i)) steps.push((r) => r.block(7, i, blockOf(img, i)));
  for (let s = 0; s < LOST.length + 4; s++) steps.push((r) => r.repair(7, repairIndex(12, s), repair(repairIndex(12, s))));
  return steps;
}

/**
 * After the script: what a concentrator does until the meter is done: the control again to
 * a meter without a session (it said so to the group query), repair blocks while it has
 * room for what it needs, else plain blocks (it is a straggler).
 */
function finish(r: Receiver, serial: { next: number }): void {
  for (let round = 0; round < 20 && r.state() !== 3; round++) {
    if (!r.session()) {
      expect(r.control(img.session, true)).toBe(0);
      for (let i = 0; i < K; i++) r.block(7, i, blockOf(img, i));
      continue;
    }
    const d = { received: 0, needed: 0, room: 0 };
    r.deficit(d);
    if (d.needed <= d.room) {
      for (let k = 0; k < d.needed + 2; k++) { const j = repairIndex(12, serial.next++); r.repair(7, j, repair(j)); }
    } else {
      const rep = { received: 0, firstMissing: 0, form: 0, base: 0, covers: 0, map: new Uint8Array(0) } as MissingReport;
      r.report(rep);
      const want: number[] = [];
      expect(forEachMissing(rep, K, (b) => want.push(b))).toBe(0);
      for (const b of want) r.block(7, b, blockOf(img, b));
    }
  }
}

interface Cut { op: number; mode: CutMode; seed: number; fraction?: number }

/**
 * The script and the finish, with `first` planned (an operation counted from the start) and,
 * after the restart it causes, `second` (counted from that restart: 0 is the first flash
 * operation of the recovery, as the start-up scan erases a torn unit). A cut anywhere, the
 * receiver's start-up included, is a restart: the next step comes to a new receiver.
 */
function run(b: CutBoard & { rows: number; decoder: DecoderOf }, first: Cut | null, second: Cut | null = null) {
  const flash = new MockFlash(b.g);
  flash.recordLog = true;
  if (first) flash.planCut({ fraction: 0.5, ...first });
  let r: Receiver | null = null, cuts = 0, decodes = 0, restartOps = -1;
  const cut = (e: unknown) => {
    if (!(e instanceof PowerCut)) throw e;
    cuts++;
    if (r) decodes += r.stats.decodes;
    r = null;
    flash.reboot();
    if (cuts === 1) {
      restartOps = flash.ops;
      if (second) flash.planCut({ fraction: 0.5, ...second, op: flash.ops + second.op });
    }
  };
  // the power is back: a new program start reads everything from flash
  const start = () => { while (!r) { try { r = receiver(b, flash); } catch (e) { cut(e); } } return r; };
  const steps = script();
  for (let i = 0; i < steps.length; i++) {
    try { steps[i](start()); } catch (e) { cut(e); }
  }
  const serial = { next: LOST.length + 4 };
  for (;;) {
    try { finish(start(), serial); break; } catch (e) { cut(e); }
  }
  const rx = start();
  return { flash, r: rx, cuts, decodes: decodes + rx.stats.decodes, recoveryOps: restartOps < 0 ? 0 : flash.ops - restartOps };
}

describe("a coded download through power cuts", () => {
  for (const b of BOARDS) {
    it(`without a cut: the repair blocks land in spare slots and one decode recovers every lost block (${b.name})`, () => {
      const { r, flash } = run(b, null);
      expect(r.state()).toBe(3);
      expect(r.stats.repairs).toBe(LOST.length);
      expect(r.stats.decodes).toBe(1);
      expect(r.stats.stored).toBe(K - LOST.length);
      const buf = b.r.buffer!;
      const l = bufferLayout(buf.addr, buf.size, eraseUnitAt(b.g, buf.addr)!.length, 200);
      for (const i of LOST) expect(flash.read(blockAddr(l, i), 200)).toEqual(blockOf(img, i));
    });

    it(`a cut at any flash operation in any way, then a second cut in the recovery, ends verified, NOR rules kept, only its own regions written (${b.name})`, () => {
      const ref = run(b, null).flash;
      const total = ref.ops;
      expect(total).toBeGreaterThan(60);
      const state = b.r.state!, buffer = b.r.buffer!;
      const check = (res: ReturnType<typeof run>, what: string) => {
        expect(res.r.state(), what).toBe(3);
        expect(res.r.received(), what).toBe(K);
        expect(res.decodes, what).toBeLessThanOrEqual(4);
        const outside = res.flash.log.find((o) => {
          const inState = o.addr >= state.addr && o.addr + o.length <= state.addr + state.size;
          const inBuffer = o.addr >= buffer.addr && o.addr + o.length <= buffer.addr + buffer.size;
          return !inState && !inBuffer;
        });
        expect(outside, `${what}: ${outside?.kind} at ${outside?.addr}`).toBeUndefined();
      };
      // the control's operations: the buffer's erases, then the SESSION record
      const session = ref.log.findIndex((o) => o.addr >= state.addr && o.addr < state.addr + state.size);
      const rng = new Rng(0xc0de + total);
      let cuts = 0, decoded = 0, seconds = 0;
      for (let op = 0; op < total; op++) {
        // the modes of the other kind of operation would only repeat "after"
        for (const mode of modesFor(ref.log[op].kind)) {
          const what = `${b.name}: ${mode} cut at op ${op}`;
          const c: Cut = { op, mode, seed: op };
          let res;
          try { res = run(b, c); } catch (e) { throw new Error(`${what}: ${String(e)}`); }
          expect(res.cuts, what).toBe(1);
          check(res, what);
          cuts++;
          if (op > session && res.decodes >= 1) decoded++;
          // a second cut in the recovery: at one of its first four operations (the start-up
          // scan's erase of a torn unit, the block or repair block written again) or anywhere
          // in the rest of the download, in a mode picked at random (none after the last operation)
          if (!res.recoveryOps) continue;
          const at = cuts % 2 ? rng.int(Math.min(4, res.recoveryOps)) : rng.int(res.recoveryOps);
          const c2: Cut = { op: at, mode: CUT_MODES[rng.int(CUT_MODES.length)], seed: rng.int(1 << 30), fraction: 0.1 + 0.8 * rng.next() };
          const what2 = `${what}, then ${c2.mode} at op ${at} of the recovery (seed ${c2.seed})`;
          let res2;
          try { res2 = run(b, c, c2); } catch (e) { throw new Error(`${what2}: ${String(e)}`); }
          expect(res2.cuts, what2).toBe(2);
          check(res2, what2);
          seconds++;
        }
      }
      expect(cuts).toBeGreaterThan(3 * total);
      // the repair blocks kept through the cuts did the work: almost every run cut once the
      // session was open ended by a decode, not by the fallbacks (a cut erasing a unit of them
      // can leave plain blocks to finish); a cut in the control leaves no session, and the
      // concentrator sends the control and every block again
      const opened = cuts - modesFor("erase").length * session - modesFor("write").length;
      expect(decoded / opened).toBeGreaterThan(0.9);
      console.log(`coded download power-cut sweep, ${b.name}: ${total} flash operations, ${cuts} cuts (${decoded} of the ${opened} after the control ended by a decode), ${seconds} second cuts in the recovery`);
    });
  }
});
