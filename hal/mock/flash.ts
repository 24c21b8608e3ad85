/*
 * NOR flash for host tests, with the rules real chips enforce and power cuts on demand.
 * Rules: erase sets 0xFF; a write only clears bits; addresses and lengths are whole
 * aligned words; each word is programmed at most once between erases of its unit;
 * erase takes the start of an erase unit. A violation throws FlashRuleError.
 * Power cuts: a plan names an operation index (writes and erases count from 0 over the
 * flash's whole life) and a mode; when it strikes, the operation is skipped, completed,
 * torn, half-erased, or left noisy (random bits, from the plan's seed), PowerCut is
 * thrown, and every later operation throws PowerCut until reboot(). A mode made for the
 * other kind of operation (a torn or noisy write planned on an erase, a half or noisy
 * erase on a write) completes it, then cuts, like "after". CUT_MODES lists every mode:
 * the power-cut sweeps take it, so a mode added here is swept everywhere.
 */
import type { Flash } from "../types";
import { eraseUnitAt, type FlashGeometry } from "../../firmware/common/layout";
import { Rng } from "./rng";

export class FlashRuleError extends Error {
  constructor(message: string) { super(message); this.name = "FlashRuleError"; }
}

export class PowerCut extends Error {
  constructor(public readonly op: number) { super(`power cut at flash operation ${op}`); this.name = "PowerCut"; }
}

export type CutMode =
  /** operation k does not happen */
  | "before"
  /** operation k completes, then the power goes */
  | "after"
  /** a write at k programs only part of its bytes, the last one with only some bits */
  | "torn"
  /** an erase at k leaves part of the unit erased and part as it was */
  | "half-erase"
  /**
   * an erase at k is interrupted with its cells anywhere between programmed and erased:
   * every byte of the unit reads old | random (an erase only sets bits). Words that now
   * read all ones count as erased (writable); every other word counts as programmed, so
   * writing it before the unit is erased again throws FlashRuleError
   */
  | "noisy-erase"
  /**
   * a write at k is interrupted with its cells anywhere between: every bit it was to
   * clear, anywhere in its range, is cleared or not at random (never one it was to keep);
   * every word of its range counts as programmed, also one that still reads all ones
   */
  | "noisy-write";

/** Every mode, for the sweeps: a mode added to CutMode goes here too. */
export const CUT_MODES: readonly CutMode[] = ["before", "after", "torn", "half-erase", "noisy-erase", "noisy-write"];

/**
 * The modes that do something of their own to an operation of this kind: a sweep that
 * knows the kind of operation k skips the others, which would only repeat "after".
 */
export function modesFor(kind: "write" | "erase"): CutMode[] {
  return CUT_MODES.filter((m) => (kind === "write" ? m !== "half-erase" && m !== "noisy-erase" : m !== "torn" && m !== "noisy-write"));
}

export interface CutPlan {
  op: number;
  mode: CutMode;
  /** 0..1: how far a torn write or half erase got (the noisy modes change each bit with probability 1/2) */
  fraction?: number;
  /** The noisy modes' random bits (Rng seed); `op` when absent, so a failure reproduces from its plan. */
  seed?: number;
}

export interface FlashOp { kind: "write" | "erase"; addr: number; length: number; }

export class MockFlash implements Flash {
  readonly bytes: Uint8Array;
  /** One flag per aligned word: programmed since the last erase of its unit. */
  private readonly programmed: Uint8Array;
  /** Operations since the flash was made (writes and erases). */
  ops = 0;
  readonly log: FlashOp[] = [];
  recordLog = false;
  private cut: CutPlan | null = null;
  private dead = false;
  readonly counts = { reads: 0, writes: 0, erases: 0, bytesWritten: 0 };

  constructor(readonly geometry: FlashGeometry, fill?: Uint8Array) {
    this.bytes = new Uint8Array(geometry.size).fill(0xff);
    this.programmed = new Uint8Array(geometry.size / geometry.writeAlign);
    if (fill) this.bytes.set(fill);
  }

  /** True after a power cut until reboot(). */
  get powerLost(): boolean { return this.dead; }

  planCut(plan: CutPlan | null): void { this.cut = plan; }

  /** The simulated reboot: power is back; the plan is spent. */
  reboot(): void { this.dead = false; this.cut = null; }

  /** Copy of the whole content and word flags, to restore later. */
  snapshot(): { bytes: Uint8Array; programmed: Uint8Array } {
    return { bytes: this.bytes.slice(), programmed: this.programmed.slice() };
  }

  restore(s: { bytes: Uint8Array; programmed: Uint8Array }): void {
    this.bytes.set(s.bytes);
    this.programmed.set(s.programmed);
  }

  private offset(addr: number, length: number): number {
    const g = this.geometry;
    if (!Number.isInteger(addr) || !Number.isInteger(length) || length < 0) throw new FlashRuleError(`bad address or length ${addr}/${length}`);
    if (addr < g.base || addr + length > g.base + g.size) {
      throw new FlashRuleError(`access 0x${addr.toString(16)}+${length} outside flash 0x${g.base.toString(16)}+${g.size}`);
    }
    return addr - g.base;
  }

  // read and mapped: bound to this flash, as the HAL's contract asks (hal/types.ts Flash)
  read = (addr: number, length: number): Uint8Array => {
    this.alive();
    const o = this.offset(addr, length);
    this.counts.reads++;
    return this.bytes.slice(o, o + length);
  };

  /** Set true to model a board whose flash is memory-mapped (STM32, nRF52). */
  memoryMapped = false;

  mapped = (addr: number, length: number): string | null => {
    if (!this.memoryMapped) return null;
    const b = this.read(addr, length);
    let s = "";
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return s;
  };

  write(addr: number, data: Uint8Array): void {
    this.alive();
    const w = this.geometry.writeAlign;
    if (!(data instanceof Uint8Array)) throw new FlashRuleError("write takes a Uint8Array");
    const o = this.offset(addr, data.length);
    if (o % w !== 0 || data.length % w !== 0) {
      throw new FlashRuleError(`write at 0x${addr.toString(16)} of ${data.length} bytes is not whole ${w}-byte words`);
    }
    for (let i = 0; i < data.length; i += w) {
      if (this.programmed[(o + i) / w]) throw new FlashRuleError(`word at 0x${(addr + i).toString(16)} programmed twice without an erase`);
      for (let j = 0; j < w; j++) {
        const old = this.bytes[o + i + j];
        if ((old & data[i + j]) !== data[i + j]) {
          throw new FlashRuleError(`write at 0x${(addr + i + j).toString(16)} would set bits (0x${old.toString(16)} -> 0x${data[i + j].toString(16)})`);
        }
      }
    }
    const op = this.ops++;
    const cut = this.cut && this.cut.op === op ? this.cut : null;
    if (this.recordLog) this.log.push({ kind: "write", addr, length: data.length });
    if (cut && cut.mode === "before") this.die(op);
    let n = data.length;
    let partialBits = 0;
    if (cut && cut.mode === "torn") {
      const f = cut.fraction ?? 0.5;
      n = Math.floor(data.length * f);
      partialBits = 0xf0;
    }
    if (cut && cut.mode === "noisy-write") {
      // each bit to clear (1 now, 0 in the data) is cleared or not: old & ~(toClear & random)
      const rng = new Rng(cut.seed ?? op);
      for (let i = 0; i < data.length; i++) this.bytes[o + i] &= ~(this.bytes[o + i] & ~data[i] & rng.int(256)) & 0xff;
    } else for (let i = 0; i < n; i++) this.bytes[o + i] &= data[i];
    if (n < data.length && partialBits) this.bytes[o + n] &= data[n] | (~partialBits & 0xff);
    // A torn word's state is unknown to the chip too: count every word touched as programmed.
    const words = cut && cut.mode === "torn" ? Math.ceil((n + 1) / w) : data.length / w; // noisy: every word
    for (let i = 0; i < words && i * w < data.length; i++) this.programmed[o / w + i] = 1;
    this.counts.writes++;
    this.counts.bytesWritten += n;
    if (cut) this.die(op);
  }

  erase(unitAddr: number): void {
    this.alive();
    const u = eraseUnitAt(this.geometry, unitAddr);
    if (!u || u.addr !== unitAddr) throw new FlashRuleError(`erase at 0x${unitAddr.toString(16)} is not the start of an erase unit`);
    const o = this.offset(u.addr, u.length);
    const op = this.ops++;
    const cut = this.cut && this.cut.op === op ? this.cut : null;
    if (this.recordLog) this.log.push({ kind: "erase", addr: u.addr, length: u.length });
    if (cut && cut.mode === "before") this.die(op);
    const w = this.geometry.writeAlign;
    let n = u.length;
    if (cut && cut.mode === "half-erase") n = Math.floor(u.length * (cut.fraction ?? 0.5) / w) * w;
    if (cut && cut.mode === "noisy-erase") {
      const rng = new Rng(cut.seed ?? op);
      for (let i = 0; i < u.length; i++) this.bytes[o + i] |= rng.int(256);
      // a word reading all ones is as good as erased; any other is not writable before an erase
      for (let i = 0; i < u.length; i += w) {
        let ones = true;
        for (let j = 0; j < w; j++) if (this.bytes[o + i + j] !== 0xff) ones = false;
        this.programmed[(o + i) / w] = ones ? 0 : 1;
      }
      n = 0;
    }
    this.bytes.fill(0xff, o, o + n);
    this.programmed.fill(0, o / w, (o + n) / w);
    this.counts.erases++;
    if (cut) this.die(op);
  }

  private alive(): void {
    if (this.dead) throw new PowerCut(this.ops);
  }

  private die(op: number): never {
    this.dead = true;
    throw new PowerCut(op);
  }
}
