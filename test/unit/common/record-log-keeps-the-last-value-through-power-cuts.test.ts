import { describe, expect, it } from "vitest";
import { CUT_MODES, MockFlash, PowerCut } from "../../../hal/mock/flash";
import { hostNative } from "../../../hal/mock/native";
import { Rng } from "../../../hal/mock/rng";
import { recordLog } from "../../../firmware/common/records";
import { STATE_SLOT } from "../../../firmware/common/update-image";
import type { FlashGeometry, Region } from "../../../firmware/common/layout";
import { boardFlash, profileRegions, type CutBoard } from "../../harness/power-cut-boards";

const g: FlashGeometry = { base: 0, size: 4096, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 4 }] };
const region = { addr: 1024, size: 2048 };
const u32 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
const val = (b: Uint8Array | null) => (b ? (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0 : null);

describe("record log", () => {
  it("returns the latest payload per type, also after reopening", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, true, hostNative);
    expect(log.capacity).toBe(20);
    expect(log.read(1)).toBeNull();
    log.append(1, u32(5));
    log.append(2, Uint8Array.of(9, 9, 9));
    log.append(1, u32(6));
    expect(val(log.read(1))).toBe(6);
    const again = recordLog(f, region, 32, true, hostNative);
    expect(val(again.read(1))).toBe(6);
    expect([...again.read(2)!]).toEqual([9, 9, 9]);
    again.append(1, u32(7));
    expect(val(recordLog(f, region, 32, true, hostNative).read(1))).toBe(7);
  });

  it("refuses a payload longer than its slots and a type out of range, storing nothing", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, true, hostNative);
    expect(log.append(1, new Uint8Array(21))).toBe(35);
    expect(log.append(8, u32(1))).toBe(1);
    expect(f.ops).toBe(0);
  });

  it("carries every type's last value forward while rotating through its units, writing only inside its region", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, true, hostNative);
    log.append(3, u32(333));
    log.append(4, u32(444));
    for (let i = 0; i < 1000; i++) log.append(1, u32(i));
    expect(log.stats.erases).toBeGreaterThan(25);
    const again = recordLog(f, region, 32, true, hostNative);
    expect(val(again.read(1))).toBe(999);
    expect(val(again.read(3))).toBe(333);
    expect(val(again.read(4))).toBe(444);
    // outside the region nothing was touched
    expect([...f.read(0, 1024)].every((b) => b === 0xff)).toBe(true);
    expect([...f.read(3072, 1024)].every((b) => b === 0xff)).toBe(true);
  });

  it("without carry is a ring: keeps the newest records, oldest first", () => {
    const f = new MockFlash(g);
    const log = recordLog(f, region, 32, false, hostNative);
    for (let i = 0; i < 200; i++) log.append(1, u32(i));
    const seen: number[] = [];
    recordLog(f, region, 32, false, hostNative).forEach((_t, _s, p) => seen.push(val(p)!));
    // 2 units of 32 slots: after 200 records the last 8 fill the head, the other unit holds 32 before them
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => 160 + i));
  });

  it("a cut during the very first record leaves that slot used: the next append goes to the next slot, never over the torn one", () => {
    // found by the coded download's power-cut sweep: with no complete record the log started
    // writing at slot 0 again, programming a torn word twice (refused by STM32F1 and ECC flash)
    for (const mode of ["torn", "after", "noisy-write"] as const) {
      const f = new MockFlash(g);
      f.planCut({ op: 0, mode, fraction: 0.5 });
      expect(() => recordLog(f, region, 32, true, hostNative).append(1, u32(5))).toThrow(PowerCut);
      f.reboot();
      const log = recordLog(f, region, 32, true, hostNative);
      expect(() => log.append(1, u32(6))).not.toThrow();
      expect(val(recordLog(f, region, 32, true, hostNative).read(1))).toBe(6);
    }
  });

  it("a cut tearing a copy while carrying, then a second one in the copies after the restart, loses no type: the copies come before the record and start with room for two torn slots", () => {
    // found by the second-cut sweep below: the copies came after each record and started
    // with room for MAX_TYPES slots; a torn copy used one of them and the next start's
    // record another, so with seven types to carry the last was erased with the oldest unit
    for (const modes of [["torn"], ["torn", "torn"], ["noisy-write", "torn"], ["torn", "noisy-write"]] as const) {
      const f = new MockFlash(g);
      f.recordLog = true;
      let log = recordLog(f, region, 32, true, hostNative);
      for (const t of [0, 2, 3, 4, 5, 6, 7]) log.append(t, u32(70 + t));
      let v = 0;
      for (const mode of modes) {
        // the operation of the next copy (a write of a type other than 1), found by a dry run
        const s = f.snapshot(), o = f.ops;
        let copy = -1;
        for (let n = 0; n < 80 && copy < 0; n++) {
          const l = f.log.length;
          log.append(1, u32(9000 + n));
          const k = f.log.slice(l).findIndex((op) => op.kind === "write" && f.read(op.addr + 4, 1)[0] !== 1);
          if (k >= 0) copy = f.ops - o - (f.log.length - l) + k;
        }
        expect(copy, `${modes}: no copy in 80 appends`).toBeGreaterThanOrEqual(0);
        f.restore(s);
        log = recordLog(f, region, 32, true, hostNative);
        f.planCut({ op: f.ops + copy, mode, fraction: 0.5, seed: 9 });
        expect(() => { for (let n = 0; n < 80; n++) log.append(1, u32(++v)); }, `${modes}`).toThrow(PowerCut);
        f.reboot();
        log = recordLog(f, region, 32, true, hostNative);
      }
      for (let n = 0; n < 100; n++) log.append(1, u32(5000 + n));
      const again = recordLog(f, region, 32, true, hostNative);
      for (const t of [0, 2, 3, 4, 5, 6, 7]) expect(val(again.read(t)), `${modes}: type ${t}`).toBe(70 + t);
      expect(val(again.read(1))).toBe(5099);
    }
  });

  it("after a power cut at any flash operation, reads the last committed or the in-flight value, and carries on", () => {
    for (let cut = 0; cut < 140; cut++) {
      for (const mode of CUT_MODES) {
        const f = new MockFlash(g);
        let log = recordLog(f, region, 32, true, hostNative);
        log.append(2, u32(77));
        f.planCut({ op: cut + 1, mode, fraction: 0.5, seed: cut });
        let committed = 0, inFlight = 0;
        try {
          for (let i = 1; i <= 100; i++) { inFlight = i; log.append(1, u32(i)); committed = i; }
        } catch (e) {
          expect(e).toBeInstanceOf(PowerCut);
        }
        f.reboot();
        log = recordLog(f, region, 32, true, hostNative);
        const v = val(log.read(1)) ?? 0;
        expect(v === committed || v === inFlight, `cut ${cut} ${mode}: read ${v}, committed ${committed}`).toBe(true);
        expect(val(log.read(2)), `cut ${cut} ${mode}: type 2 lost`).toBe(77);
        log.append(1, u32(500));
        expect(val(recordLog(f, region, 32, true, hostNative).read(1))).toBe(500);
      }
    }
  });

  // the meter's state log (64-byte slots) in each board's state region: the Original's 2 KiB
  // pages, the Linux build's 1 KiB, the ESP32's 4 KiB sectors; the STM32F4's 16 KiB sectors
  // of the WiFi (two of them: its store region, since its state region is a single sector)
  const BOARDS: (CutBoard & { log: Region })[] = [
    ["ESPRUINOBOARD", "Original, 2 KiB pages", "state"],
    ["LINUX", "Linux build, 1 KiB pages", "state"],
    ["ESP32", "ESP32, 4 KiB sectors", "state"],
    ["ESPRUINOWIFI", "WiFi, 16 KiB STM32F4 sectors", "store"],
  ].map(([board, name, rn]) => {
    const r = profileRegions(board, [rn as "state" | "store"]);
    return { ...boardFlash(board, name, r), log: r[rn as "state" | "store"]! };
  });

  /** The types written once before the window: each must be carried out of the unit erased. */
  const KEPT = [0, 2, 3, 4, 5, 6, 7];

  for (const b of BOARDS) {
    it(`through a rotation, a cut at any operation in any way, then a second cut in the appends that follow the restart, reads a value written last or in flight (${b.name})`, () => {
      const unit = b.g.eraseUnits.find((u) => b.log.addr >= u.addr && b.log.addr < u.addr + u.size * u.count)!.size;
      const perUnit = unit / STATE_SLOT;
      expect(b.log.size / unit).toBe(2);
      // every other type written once (the values 70 + type), then type 1 until the second
      // unit is 4 slots short of where its copies begin: the window, type 1 appends until
      // the oldest unit is erased and 3 more, carries the seven types forward out of it
      const f = new MockFlash(b.g);
      let log = recordLog(f, b.log, STATE_SLOT, true, hostNative);
      for (const t of KEPT) log.append(t, u32(70 + t));
      let v = 0;
      while (v < 2 * perUnit - 2 * KEPT.length - 6) log.append(1, u32(++v));
      const s0 = f.snapshot(), last = v;
      const window = (l: typeof log, from: number, n: number, seen: { committed: number; inFlight: number }) => {
        for (let i = 1; i <= n; i++) { seen.inFlight = from + i; l.append(1, u32(from + i)); seen.committed = from + i; }
      };
      const o0 = f.ops, e0 = log.stats.erases;
      let W = 0;
      while (log.stats.erases === e0) window(log, last + W++, 1, { committed: 0, inFlight: 0 });
      window(log, last + W, 3, { committed: 0, inFlight: 0 });
      W += 3;
      const total = f.ops - o0;
      expect(W).toBeGreaterThan(6);
      expect(total).toBe(W + KEPT.length + 1); // the copies and the erase too
      const rng = new Rng(0x5eed + perUnit);
      let first = 0, second = 0;
      const pairs = new Set<string>();
      for (let k = 0; k < total; k++) {
        for (const mode of CUT_MODES) {
          const what = `${b.name}: cut ${mode} at op ${k}`;
          f.restore(s0);
          f.planCut({ op: f.ops + k, mode, fraction: 0.5, seed: k * 8 + CUT_MODES.indexOf(mode) });
          const seen = { committed: last, inFlight: last };
          try { window(recordLog(f, b.log, STATE_SLOT, true, hostNative), last, W, seen); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
          expect(f.powerLost, what).toBe(true);
          f.reboot();
          log = recordLog(f, b.log, STATE_SLOT, true, hostNative);
          const got = val(log.read(1));
          expect(got === seen.committed || got === seen.inFlight, `${what}: read ${got}, committed ${seen.committed}`).toBe(true);
          for (const t of KEPT) expect(val(log.read(t)), `${what}: type ${t} lost`).toBe(70 + t);
          first++;
          // the restart goes on appending: the recovery's operations (the erase a cut interrupted,
          // the carry, the next slots), then a second cut at the first of them (in each mode in
          // turn as k goes) and at one picked at random, in a mode picked at random
          const s1 = f.snapshot(), o1 = f.ops;
          window(log, 1000, 12, { committed: 0, inFlight: 0 });
          const rops = f.ops - o1;
          const on = recordLog(f, b.log, STATE_SLOT, true, hostNative);
          for (const t of KEPT) expect(val(on.read(t)), `${what}: type ${t} lost in the appends after the restart`).toBe(70 + t);
          for (let j = 0; j < 2; j++) {
            const mode2 = CUT_MODES[j === 0 ? k % CUT_MODES.length : rng.int(CUT_MODES.length)];
            pairs.add(`${mode}/${mode2}`);
            const k2 = j === 0 ? 0 : rng.int(rops), what2 = `${what}, then ${mode2} at op ${k2} of the restart`;
            f.restore(s1);
            // (a torn write gets at least a tenth of its bytes: one that left no trace at all could not be told from no write)
            f.planCut({ op: f.ops + k2, mode: mode2, fraction: 0.1 + 0.8 * rng.next(), seed: rng.int(1 << 30) });
            const seen2 = { committed: got!, inFlight: got! };
            try { window(recordLog(f, b.log, STATE_SLOT, true, hostNative), 1000, 12, seen2); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
            expect(f.powerLost, what2).toBe(true);
            f.reboot();
            const l2 = recordLog(f, b.log, STATE_SLOT, true, hostNative);
            const got2 = val(l2.read(1));
            expect(got2 === seen2.committed || got2 === seen2.inFlight, `${what2}: read ${got2}, committed ${seen2.committed}`).toBe(true);
            for (const t of KEPT) expect(val(l2.read(t)), `${what2}: type ${t} lost`).toBe(70 + t);
            try { l2.append(1, u32(5000)); } catch (e) { throw new Error(`${what2}: ${String(e)}`); }
            expect(val(recordLog(f, b.log, STATE_SLOT, true, hostNative).read(1)), what2).toBe(5000);
            second++;
          }
        }
      }
      console.log(`record log sweep, ${b.name}: ${total} flash operations, ${first} first cuts, ${second} second cuts`);
      expect(first).toBe(total * CUT_MODES.length);
      expect(pairs.size).toBe(CUT_MODES.length ** 2); // every mode after every mode
    });
  }
});
