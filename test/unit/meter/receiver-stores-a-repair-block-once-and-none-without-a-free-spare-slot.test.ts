/*
 * The update receiver's repair(): a repair block is stored in the first free spare slot, a
 * repeated one is counted as a duplicate and stored again nowhere, and once every spare slot
 * holds a repair block a new one is counted useless and written nowhere, while what is stored
 * stays and the image is still decoded from it (the slot search is the typed array's indexOf).
 */
import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { updateReceiver } from "../../../firmware/meter/update";
import { STATE_SLOT } from "../../../firmware/common/update-image";
import { repairIndex, repairSets, xorInto } from "../../../firmware/protocol/repair";
import { rowsDecoder } from "../../../firmware/meter/decoder";
import { blockOf } from "../../../bench/image";
import { makeImage } from "../../harness/scripted-concentrator";

const img = makeImage(4000, 200, { version: 2 }); // 20 blocks
const K = img.session.blockCount, sets = repairSets(K);
const repair = (j: number) => { const o = new Uint8Array(200), n = sets.set(j); for (let k = 0; k < n; k++) xorInto(o, blockOf(img, sets.out[k])); return o; };

function meter(rows: number) {
  const flash = new MockFlash({ base: 0, size: 65536, eraseUnits: [{ addr: 0, size: 1024, count: 64 }], writeAlign: 4 });
  const journal = recordLog(flash, { addr: 0, size: 2048 }, STATE_SLOT, true, hostNative);
  const rx = updateReceiver(flash, hostNative, { addr: 4096, size: 32768 }, journal, { version: 1, floor: 0, board: 1, maxImage: 16000, rows, decoder: rowsDecoder, unpacks: true });
  expect(rx.control(img.session, true)).toBe(0);
  return { flash, rx };
}

describe("the update receiver's repair blocks", () => {
  it("stores a repair block once: the same index again is a duplicate and writes nothing", () => {
    const { flash, rx } = meter(4);
    for (let i = 0; i < K; i++) if (i !== 3 && i !== 11) expect(rx.block(7, i, blockOf(img, i))).toBe(0);
    let s = 0;
    // a repair block that covers a missing block (one that covers none is not stored)
    const covers = (j: number) => [...sets.out.subarray(0, sets.set(j))].some((b) => b === 3 || b === 11);
    while (!covers(repairIndex(5, s))) s++;
    const j = repairIndex(5, s);
    expect(rx.repair(7, j, repair(j))).toBe(0);
    expect([rx.stats.repairs, rx.stats.duplicate]).toEqual([1, 0]);
    const writes = flash.counts.writes;
    expect(rx.repair(7, j, repair(j))).toBe(0);
    expect([rx.stats.repairs, rx.stats.duplicate, flash.counts.writes]).toEqual([1, 1, writes]);
    const d = { received: 0, needed: 0, room: 0 };
    rx.deficit(d);
    expect(d).toEqual({ received: K - 2, needed: 1, room: 3 });
  });

  it("stores none once every spare slot holds one, keeps what it holds and decodes from it", () => {
    // two rows: three blocks lost, two repair blocks kept; a third finds no free slot
    const { flash, rx } = meter(2);
    const lost = [2, 9, 15];
    for (let i = 0; i < K; i++) if (!lost.includes(i)) rx.block(7, i, blockOf(img, i));
    let s = 0;
    const kept: number[] = [];
    while (rx.stats.repairs < 2) { const j = repairIndex(9, s++), n = rx.stats.repairs; rx.repair(7, j, repair(j)); if (rx.stats.repairs > n) kept.push(j); }
    const d = { received: 0, needed: 0, room: 0 };
    rx.deficit(d);
    expect(d).toEqual({ received: K - 3, needed: 1, room: 0 });
    const writes = flash.counts.writes, useless = rx.stats.useless;
    const j = repairIndex(9, s++);
    expect(rx.repair(7, j, repair(j))).toBe(0);
    expect([rx.stats.repairs, rx.stats.useless, flash.counts.writes]).toEqual([2, useless + 1, writes]);
    // one missing block comes plain (a straggler's): the one that leaves the kept repair blocks
    // two independent rows over the other two, which they then decode
    const rowOf = (j: number, over: number[]) => over.map((b) => ([...sets.out.subarray(0, sets.set(j))].includes(b) ? 1 : 0)).join("");
    const first = lost.find((p) => {
      const rest = lost.filter((b) => b !== p), a = rowOf(kept[0], rest), b = rowOf(kept[1], rest);
      return a !== "00" && b !== "00" && a !== b;
    });
    expect(first).toBeDefined();
    expect(rx.block(7, first!, blockOf(img, first!))).toBe(0);
    expect(rx.stats.decodes).toBe(1);
    expect(rx.state()).toBe(3);
  });
});
