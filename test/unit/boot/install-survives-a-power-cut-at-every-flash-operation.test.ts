/*
 * The boot routine's install, proven the way MCUboot's simulator proves swaps: count the
 * flash operations of a clean install, then for every operation k cut the power in every
 * way the mock flash knows (CUT_MODES: before it, after it, a torn write, a half-erased
 * unit, an interrupted erase leaving random bits, a write leaving random bits anywhere in
 * its range), reboot, cut again somewhere in the start that recovers, reboot as often as
 * needed, and check that the meter always has a valid program and ends with the new one.
 * On four geometries, plus random multi-cut runs.
 */
import { describe, expect, it } from "vitest";
import { CUT_MODES, MockFlash, modesFor, PowerCut, type CutPlan } from "../../../hal/mock/flash";
import { hostNative, latin1 } from "../../../hal/mock/native";
import type { FlashGeometry, Regions } from "../../../firmware/common/layout";
import type { Flash } from "../../../hal/types";
import { encodeAppHeader } from "../../../firmware/common/image";
import { recordLog } from "../../../firmware/common/records";
import { digestChain, STATE_SLOT, type Session } from "../../../firmware/common/update-image";
import { updateReceiver } from "../../../firmware/meter/update";
import { bufferImage, install } from "../../../firmware/boot/install";
import { appSource, imageSource } from "../../../firmware/boot/loader";
import { Rng } from "../../../hal/mock/rng";
import { packPayload } from "../../../tools/image/packed";

interface Case { name: string; g: FlashGeometry; r: Regions }

const pages = (size: number): Case => ({
  name: `${size / 1024} KiB pages`,
  g: { base: 0, size: 64 * 1024, writeAlign: 4, eraseUnits: [{ addr: 0, size, count: (64 * 1024) / size }] },
  r: {
    state: { addr: 0, size: 2 * size }, journal: { addr: 2 * size, size },
    app: { addr: 16 * 1024, size: 16 * 1024 }, buffer: { addr: 32 * 1024, size: 16 * 1024 }, prev: { addr: 48 * 1024, size: 16 * 1024 },
  },
});

const stm32f4: Case = {
  name: "STM32F4 16/64/128 KiB sectors",
  g: {
    base: 0x08000000, size: 512 * 1024, writeAlign: 4,
    eraseUnits: [{ addr: 0x08000000, size: 16384, count: 4 }, { addr: 0x08010000, size: 65536, count: 1 }, { addr: 0x08020000, size: 131072, count: 3 }],
  },
  r: {
    state: { addr: 0x08000000, size: 32768 }, journal: { addr: 0x08008000, size: 16384 },
    app: { addr: 0x08020000, size: 131072 }, buffer: { addr: 0x08040000, size: 131072 }, prev: { addr: 0x08060000, size: 131072 },
  },
};

const CASES = [pages(1024), pages(2048), pages(4096), stm32f4];

function program(text: string, size: number): Uint8Array {
  const body = new TextEncoder().encode(text.padEnd(size, " "));
  const head = encodeAppHeader({ length: body.length, crc: hostNative.crc32(body), version: 0 });
  return new Uint8Array([...head, ...body]);
}

function imageOf(text: string, size: number, version: number): Uint8Array {
  const body = new TextEncoder().encode(text.padEnd(size, " "));
  return new Uint8Array([...encodeAppHeader({ length: body.length, crc: hostNative.crc32(body), version }), ...body]);
}

/** A flash with program v1 in the app region and v2 downloaded and activated in the buffer. */
/**
 * A flash with program v1 in the app region and v2 downloaded and activated in the buffer;
 * `packed`: v2 travels packed (compressed in chunks of that many bytes, 1 KiB when true:
 * tools/image/packed.ts), and the boot routine unpacks it into the app region.
 */
function prepared(c: Case, o: { corruptDigest?: boolean; packed?: boolean | number } = {}): { flash: MockFlash; oldSrc: string; newSrc: string } {
  const flash = new MockFlash(c.g);
  const old = imageOf("var v=1;/*old*/", 5000, 1);
  const oldPadded = new Uint8Array(Math.ceil(old.length / 4) * 4).fill(0xff);
  oldPadded.set(old);
  flash.write(c.r.app!.addr, oldPadded);
  // a program with some repetition, as real ones have, so that it packs
  const plain = imageOf(Array.from({ length: 400 }, (_, i) => `var v${i % 37}=2+${i};`).join("") + "/*new*/", 6000, 2);
  const img = o.packed ? packPayload(plain, o.packed === true ? 1024 : o.packed, { version: 2, board: 1, blockSize: 128 }, hostNative) : plain;
  const s: Session = { imageId: 5, version: 2, board: 1, size: img.length, blockSize: 128, blockCount: Math.ceil(img.length / 128), activateAt: 0, digest: new Uint8Array(32) };
  const chain = digestChain(hostNative, s);
  for (let i = 0; i < s.blockCount; i++) chain.step(img.subarray(i * 128, Math.min(img.length, (i + 1) * 128)));
  s.digest = chain.result().slice();
  if (o.corruptDigest) s.digest[3] ^= 0x40;
  const journal = recordLog(flash, c.r.state!, STATE_SLOT, true, hostNative);
  const rx = updateReceiver(flash, hostNative, c.r.buffer!, journal, { version: 1, floor: 0, board: 1, maxImage: 100000, rows: 0, decoder: null, unpacks: true });
  expect(rx.control(s, true)).toBe(0);
  for (let i = 0; i < s.blockCount; i++) rx.block(5, i, img.subarray(i * 128, Math.min(img.length, (i + 1) * 128)));
  if (!o.corruptDigest) expect(rx.activate(5)).toBe(0);
  return { flash, oldSrc: latin1(old.subarray(16)), newSrc: latin1(plain.subarray(16)) };
}

/** What the meter program does when the new program proves itself. */
function confirm(flash: MockFlash, c: Case): void {
  recordLog(flash, c.r.state!, STATE_SLOT, true, hostNative).append(4, Uint8Array.of(5, 0));
}

/** Boots until the install completes without a cut; returns the program the meter would run. */
function bootToEnd(f: Flash, c: Case, attempts?: number[]): string | number {
  const res = install(f, hostNative, c.r);
  if (attempts) attempts.push(res.attempt);
  const src = appSource(f, hostNative, c.r.app!);
  if (typeof src === "string") return src;
  const img = bufferImage(f, hostNative, c.r);
  return typeof img === "number" ? img : imageSource(hostNative, c.r.buffer!.size, img, null);
}

describe("boot install through power cuts", () => {
  // packed in 1 KiB chunks, and in 2 KiB ones (the Linux build's packChunk on its 1 KiB pages:
  // a chunk spans units, so a cut can leave a unit that starts in the middle of one)
  for (const c of CASES) for (const packed of [0, 1024, 2048]) {
    const kind = packed ? `, packed image in ${packed / 1024} KiB chunks` : "";
    it(`ends with the new program after a cut at any operation, in any way, and a second cut in the start that recovers (${c.name}${kind})`, () => {
      const { flash, newSrc, oldSrc } = prepared(c, { packed });
      const s0 = flash.snapshot();
      const base = flash.ops;
      flash.recordLog = true;
      expect(install(flash, hostNative, c.r)).toMatchObject({ copied: true, code: 0, trial: true });
      flash.recordLog = false;
      const kinds = flash.log.map((o) => o.kind);
      const total = flash.ops - base;
      expect(kinds.length).toBe(total);
      expect(appSource(flash, hostNative, c.r.prev!)).toBe(oldSrc); // the previous program is kept
      expect(appSource(flash, hostNative, c.r.app!)).toBe(newSrc);
      /** From a cut start: the starts that follow end with the new program, the old one kept, and stay put once it confirms. */
      const recovers = (what: string, recovery?: number[]) => {
        const att: number[] = [];
        const o = flash.ops;
        expect(bootToEnd(flash, c, att), what).toBe(newSrc);
        if (recovery) recovery[0] = flash.ops - o;
        // the resumed copy finishes the first attempt: no unit was taken as done that was not
        expect(att[0], `${what} needed a second copy`).toBeLessThanOrEqual(1);
        expect(appSource(flash, hostNative, c.r.prev!), `${what}: previous program`).toBe(oldSrc);
        // once the new program confirms itself, later starts leave everything alone
        confirm(flash, c);
        const ops = flash.ops;
        expect(install(flash, hostNative, c.r), what).toMatchObject({ copied: false, code: 0, trial: false });
        expect(flash.ops, what).toBe(ops);
      };
      const cutStart = (plan: CutPlan, what: string) => {
        flash.planCut(plan);
        let cut = false;
        try { install(flash, hostNative, c.r); } catch (e) { expect(e).toBeInstanceOf(PowerCut); cut = true; }
        expect(cut, what).toBe(true);
        flash.reboot();
      };
      const rng = new Rng(0xb007 + total);
      let points = 0, seconds = 0;
      for (let k = 0; k < total; k++) {
        // the modes of the other kind of operation would only repeat "after"
        for (const mode of modesFor(kinds[k])) {
          const what = `${c.name}: cut ${mode} op ${k}`;
          flash.restore(s0);
          cutStart({ op: flash.ops + k, mode, fraction: 0.37, seed: k }, what);
          const s1 = flash.snapshot();
          const recovery = [0];
          recovers(what, recovery);
          points++;
          // again from the same cut, with a second cut in the start that recovers: at one of
          // its first four operations (the unit the cut left, erased and written again), or
          // anywhere in it, in a mode picked at random
          const k2 = points % 2 ? rng.int(Math.min(4, recovery[0])) : rng.int(recovery[0]);
          const plan: CutPlan = { op: 0, mode: CUT_MODES[rng.int(CUT_MODES.length)], fraction: 0.1 + 0.8 * rng.next(), seed: rng.int(1 << 30) };
          const what2 = `${what}, then ${plan.mode} op ${k2} of the next start (seed ${plan.seed})`;
          flash.restore(s1);
          cutStart({ ...plan, op: flash.ops + k2 }, what2);
          recovers(what2);
          seconds++;
        }
      }
      console.log(`install sweep, ${c.name}${kind}: ${total} flash operations, ${points} cut points exercised, ${seconds} second cuts`);
      expect(points).toBe(total * 4);
    });

    it(`survives five cuts in a row at random points, over 40 seeds (${c.name}${kind})`, () => {
      const { flash, newSrc } = prepared(c, { packed });
      const s0 = flash.snapshot();
      const base = flash.ops;
      install(flash, hostNative, c.r);
      const total = flash.ops - base;
      for (let seed = 1; seed <= 40; seed++) {
        const rng = new Rng(seed);
        flash.restore(s0);
        for (let cut = 0; cut < 5; cut++) {
          flash.planCut({ op: flash.ops + rng.int(total), mode: CUT_MODES[rng.int(CUT_MODES.length)], fraction: rng.next(), seed: rng.int(1 << 30) });
          try {
            // a start that gets through runs the new program, which confirms itself
            if (install(flash, hostNative, c.r).trial) confirm(flash, c);
          } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
          flash.reboot();
        }
        expect(bootToEnd(flash, c), `${c.name}: seed ${seed}`).toBe(newSrc);
      }
    });
  }

  it("keeps the old program when the buffer's digest does not check, and says so once", () => {
    const c = CASES[0];
    const { flash, oldSrc } = prepared(c, { corruptDigest: true });
    // the receiver refused activation of a bad image; force the ACTIVATE record the way a bug would
    const journal = recordLog(flash, c.r.state!, STATE_SLOT, true, hostNative);
    journal.append(3, Uint8Array.of(5, 0, 2, 0, 0, 0));
    const app0 = flash.read(c.r.app!.addr, c.r.app!.size);
    expect(install(flash, hostNative, c.r).code).toBe(103);
    expect(flash.read(c.r.app!.addr, c.r.app!.size)).toEqual(app0);
    expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
    const ops = flash.ops;
    expect(install(flash, hostNative, c.r).code).toBe(104); // FAILED recorded: no second try
    expect(flash.ops).toBe(ops);
    expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
  });

  it("a packed image: unpacked into the app region as plain text; refused before anything is written without decompress; a chunk that does not unpack right brings the previous program back", () => {
    const c = CASES[1];
    // unpacked: the app region holds the plain program, checked against the plain digest
    {
      const { flash, newSrc, oldSrc } = prepared(c, { packed: true });
      expect(install(flash, hostNative, c.r)).toMatchObject({ copied: true, code: 0, trial: true });
      expect(appSource(flash, hostNative, c.r.app!)).toBe(newSrc);
      expect(appSource(flash, hostNative, c.r.prev!)).toBe(oldSrc);
    }
    // an interpreter without heatshrink: refused at once, the old program untouched, and it stays refused
    {
      const { flash, oldSrc } = prepared(c, { packed: true });
      const app0 = flash.read(c.r.app!.addr, c.r.app!.size);
      const { unshrink: _, ...plainOnly } = hostNative;
      expect(install(flash, plainOnly, c.r)).toMatchObject({ copied: false, code: 108 });
      expect(flash.read(c.r.app!.addr, c.r.app!.size)).toEqual(app0);
      expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
      expect(install(flash, hostNative, c.r).code).toBe(104);
      expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
    }
    // a decompress that gives wrong bytes (the interpreter's never fails: it gives what it reads)
    {
      const { flash, oldSrc } = prepared(c, { packed: true });
      const wrong = { ...hostNative, unshrink: (d: Uint8Array) => { const out = hostNative.unshrink!(d); out[7] ^= 0x20; return out; } };
      expect(install(flash, wrong, c.r)).toMatchObject({ copied: false, code: 105 });
      expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
      expect(install(flash, hostNative, c.r)).toMatchObject({ copied: false, code: 0, trial: false });
      expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
    }
  });

  it("copies again when the copy does not verify, a bounded number of times, then runs from the buffer", () => {
    const c = CASES[1];
    for (const badWrites of [1, 1000]) {
      const { flash, newSrc } = prepared(c);
      let left = badWrites;
      const app = c.r.app!;
      // flash that flips a bit in writes to the app region while `left` lasts
      const flaky: Flash = {
        geometry: flash.geometry,
        read: (a, n) => flash.read(a, n),
        erase: (a) => flash.erase(a),
        mapped: () => null,
        write: (a, d) => {
          if (a >= app.addr && a < app.addr + app.size && left > 0) { left--; d = d.slice(); d[0] ^= 1; }
          flash.write(a, d);
        },
      };
      const res = install(flaky, hostNative, c.r);
      if (badWrites === 1) {
        expect(res).toMatchObject({ copied: true, code: 0, attempt: 2, trial: true });
        expect(appSource(flash, hostNative, app)).toBe(newSrc);
      } else {
        expect(res).toMatchObject({ copied: true, code: 104, attempt: 3 });
        expect(typeof appSource(flash, hostNative, app)).toBe("number"); // corrupt: never run
        expect(bootToEnd(flash, c)).toBe(newSrc); // the buffer still holds the verified image
      }
    }
  });

  it("does nothing without a pending activation", () => {
    const c = CASES[0];
    const flash = new MockFlash(c.g);
    const p = program("var v=1;", 100);
    flash.write(c.r.app!.addr, p);
    expect(install(flash, hostNative, c.r)).toEqual({ copied: false, code: 0, imageId: 0, attempt: 0, trial: false });
    expect(flash.ops).toBe(1);
  });

  for (const c of CASES) {
    it(`reverts a program that never confirms, after ${3} starts, through a cut at any operation and a second one in the start that recovers (${c.name})`, () => {
      const { flash, newSrc, oldSrc } = prepared(c);
      expect(install(flash, hostNative, c.r)).toMatchObject({ trial: true }); // start 1
      expect(appSource(flash, hostNative, c.r.app!)).toBe(newSrc);
      expect(install(flash, hostNative, c.r)).toMatchObject({ trial: true }); // start 2
      expect(install(flash, hostNative, c.r)).toMatchObject({ trial: true }); // start 3
      const s1 = flash.snapshot();
      const base = flash.ops;
      flash.recordLog = true;
      expect(install(flash, hostNative, c.r)).toMatchObject({ code: 105, trial: false }); // start 4: revert
      flash.recordLog = false;
      const total = flash.ops - base;
      const kinds = flash.log.slice(-total).map((o) => o.kind);
      expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
      const cutStart = (plan: CutPlan) => {
        flash.planCut(plan);
        try { install(flash, hostNative, c.r); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
        flash.reboot();
      };
      /** The next start finishes the revert (105), or finds it recorded (0); the old program runs, and later starts change nothing. */
      const reverted = (what: string, recovery?: number[]) => {
        const o = flash.ops;
        expect([0, 105], what).toContain(install(flash, hostNative, c.r).code);
        if (recovery) recovery[0] = flash.ops - o;
        expect(appSource(flash, hostNative, c.r.app!), what).toBe(oldSrc);
        const ops = flash.ops;
        install(flash, hostNative, c.r);
        expect(flash.ops, what).toBe(ops);
      };
      const rng = new Rng(0x4e7 + total);
      let points = 0, seconds = 0;
      for (let k = 0; k < total; k++) {
        for (const mode of modesFor(kinds[k])) {
          const what = `${c.name}: revert cut ${mode} op ${k}`;
          flash.restore(s1);
          cutStart({ op: flash.ops + k, mode, fraction: 0.61, seed: k });
          const s2 = flash.snapshot(), recovery = [0];
          reverted(what, recovery);
          points++;
          if (!recovery[0]) continue; // the revert was recorded: the next start writes nothing
          // a second cut in the start that finishes the revert: one of its first four operations, or any
          for (let j = 0; j < 2; j++) {
            const k2 = j === 0 ? rng.int(Math.min(4, recovery[0])) : rng.int(recovery[0]);
            const plan: CutPlan = { op: 0, mode: CUT_MODES[rng.int(CUT_MODES.length)], fraction: 0.1 + 0.8 * rng.next(), seed: rng.int(1 << 30) };
            flash.restore(s2);
            cutStart({ ...plan, op: flash.ops + k2 });
            reverted(`${what}, then ${plan.mode} op ${k2} of the next start (seed ${plan.seed})`);
            seconds++;
          }
        }
      }
      console.log(`revert sweep, ${c.name}: ${total} flash operations, ${points} cut points exercised, ${seconds} second cuts`);
      expect(points).toBe(total * 4);
    });
  }

  it("reverts at once when the new program throws at start", () => {
    const c = CASES[2];
    const { flash, oldSrc } = prepared(c);
    expect(install(flash, hostNative, c.r).trial).toBe(true);
    expect(install(flash, hostNative, c.r, true).code).toBe(105);
    expect(appSource(flash, hostNative, c.r.app!)).toBe(oldSrc);
  });

  it("keeps a confirmed program for good", () => {
    const c = CASES[0];
    const { flash, newSrc } = prepared(c);
    install(flash, hostNative, c.r);
    confirm(flash, c);
    for (let i = 0; i < 6; i++) expect(install(flash, hostNative, c.r)).toMatchObject({ code: 0, trial: false });
    expect(appSource(flash, hostNative, c.r.app!)).toBe(newSrc);
  });

  it("with no previous program to go back to, keeps running the new one and says so", () => {
    const c = CASES[0];
    const { flash, newSrc } = prepared(c);
    flash.erase(c.r.app!.addr); // the header is gone: there was no valid program before
    for (let i = 0; i < 3; i++) expect(install(flash, hostNative, c.r).trial).toBe(true);
    expect(install(flash, hostNative, c.r).code).toBe(106);
    expect(appSource(flash, hostNative, c.r.app!)).toBe(newSrc);
  });
});
