/*
 * The coded download through power cuts: the meter's update receiver takes the image with
 * some blocks lost and repair blocks in their place (stored in spare slots, then decoded
 * into the missing blocks' own slots), and the power goes before, after or in the middle
 * of every flash operation of it. After each cut the receiver starts again from flash,
 * the concentrator goes on (more repair blocks while the meter has room, plain blocks when
 * it has not), and the meter must end verified with the image's blocks, having written
 * every word at most once between erases (the mock flash refuses anything else) and
 * nothing outside its buffer and state log.
 */
import { describe, expect, it } from "vitest";
import { MockFlash, PowerCut, type CutMode } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { updateReceiver, type Receiver } from "../../../firmware/meter/update";
import { blockAddr, bufferLayout, STATE_SLOT } from "../../../firmware/common/update-image";
import { forEachMissing, type MissingReport } from "../../../firmware/protocol/missing";
import { repairIndex, repairSets, xorInto } from "../../../firmware/protocol/repair";
import { blockOf } from "../../../bench/image";
import { makeImage } from "../../harness/scripted-concentrator";

// the Original's erase unit (2 KiB): 10 slots of 200-byte blocks a unit
const g = { base: 0, size: 65536, writeAlign: 4, eraseUnits: [{ addr: 0, size: 2048, count: 32 }] };
const STATE = { addr: 0, size: 4096 }, BUFFER = { addr: 16384, size: 16384 };
const ROWS = 8;
const img = makeImage(7800, 200, { version: 2 }); // 39 blocks: the last unit holds blocks and spare slots
const K = img.session.blockCount;
const LOST = [0, 9, 10, 17, 30, 37, 38];
const sets = repairSets(K);

function repair(j: number): Uint8Array {
  const out = new Uint8Array(200), n = sets.set(j);
  for (let k = 0; k < n; k++) xorInto(out, blockOf(img, sets.out[k]));
  return out;
}

function receiver(flash: MockFlash): Receiver {
  return updateReceiver(flash, hostNative, BUFFER, recordLog(flash, STATE, STATE_SLOT, true, hostNative), { version: 1, floor: 0, board: 1, maxImage: 16000, rows: ROWS });
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

function run(cut: { op: number; mode: CutMode } | null): { flash: MockFlash; r: Receiver; cutHappened: boolean; decodes: number } {
  const flash = new MockFlash(g);
  flash.recordLog = true;
  if (cut) flash.planCut({ ...cut, fraction: 0.5 });
  let r = receiver(flash), cutHappened = false, decodes = 0;
  const steps = script();
  for (let i = 0; i < steps.length; i++) {
    try {
      steps[i](r);
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      cutHappened = true;
      decodes += r.stats.decodes;
      flash.reboot();
      // the power is back: a new program start reads everything from flash
      try { r = receiver(flash); } catch (e2) { throw new Error(`restart after ${cut!.mode} cut at op ${cut!.op}: ${String(e2)}`); }
    }
  }
  const serial = { next: LOST.length + 4 };
  finish(r, serial);
  return { flash, r, cutHappened, decodes: decodes + r.stats.decodes };
}

describe("a coded download through power cuts", () => {
  it("without a cut: the repair blocks land in spare slots and one decode recovers every lost block", () => {
    const { r, flash } = run(null);
    expect(r.state()).toBe(3);
    expect(r.stats.repairs).toBe(LOST.length);
    expect(r.stats.decodes).toBe(1);
    expect(r.stats.stored).toBe(K - LOST.length);
    const l = bufferLayout(BUFFER.addr, BUFFER.size, 2048, 200);
    for (const b of LOST) expect(flash.read(blockAddr(l, b), 200)).toEqual(blockOf(img, b));
  });

  it("a cut before, after or in the middle of any flash operation ends verified, NOR rules kept, only its own regions written", () => {
    const total = run(null).flash.ops;
    expect(total).toBeGreaterThan(60);
    let cuts = 0, decoded = 0;
    for (let op = 0; op <= total; op++) {
      for (const mode of ["before", "after", "torn", "half-erase"] as CutMode[]) {
        let res;
        try { res = run({ op, mode }); } catch (e) { throw new Error(`${mode} cut at op ${op}: ${String(e)}`); }
        const { r, flash, cutHappened, decodes } = res;
        if (!cutHappened) continue;
        cuts++;
        expect(r.state(), `${mode} cut at op ${op}`).toBe(3);
        expect(r.received(), `${mode} cut at op ${op}`).toBe(K);
        expect(decodes, `${mode} cut at op ${op}`).toBeLessThanOrEqual(3);
        if (decodes >= 1) decoded++;
        for (const o of flash.log) {
          const inState = o.addr >= STATE.addr && o.addr + o.length <= STATE.addr + STATE.size;
          const inBuffer = o.addr >= BUFFER.addr && o.addr + o.length <= BUFFER.addr + BUFFER.size;
          expect(inState || inBuffer, `${mode} cut at op ${op}: ${o.kind} at ${o.addr}`).toBe(true);
        }
      }
    }
    expect(cuts).toBeGreaterThan(3 * total);
    // the repair blocks kept through the cuts did the work: almost every run ended by a
    // decode, not by the fallbacks (a cut erasing a unit of them can leave plain blocks to finish)
    expect(decoded / cuts).toBeGreaterThan(0.9);
    console.log(`coded download power-cut sweep: ${cuts} cuts, ${decoded} ended by a decode`);
  });
});
