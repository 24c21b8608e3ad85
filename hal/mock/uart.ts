/*
 * A UART for host tests. The device side uses it through the Uart contract; the test
 * side injects received bytes (delivered in chunks from 1 byte up to a whole frame, as
 * the interpreter does) and reads what the device wrote. Misuse of the contract throws.
 * `pace` spreads the chunks out in virtual time, as the Linux build reading a
 * pseudo-terminal in passes, or a busy program, delivers them.
 */
import type { Clock, Uart } from "../types";

export class UartMisuse extends Error {
  constructor(message: string) { super(message); this.name = "UartMisuse"; }
}

/** How injected data is cut into chunks: fixed size, or seeded random sizes in [1, max]. */
export type Chunking = { kind: "whole" } | { kind: "fixed"; size: number } | { kind: "random"; max: number; seed: number };

export class MockUart implements Uart {
  baud = 0;
  /** Every string the device wrote, in order. */
  readonly writes: string[] = [];
  private listener: ((chunk: string) => void) | null = null;
  private rng: number;
  private paced: { clock: Clock; maxGapMs: number; rng: number; at: number } | null = null;
  /** Optional hook: called with each write (a simulated modem or line attaches here). */
  onWrite: ((data: string) => void) | null = null;

  constructor(public chunking: Chunking = { kind: "whole" }) {
    this.rng = chunking.kind === "random" ? chunking.seed >>> 0 || 1 : 1;
  }

  setup(baud: number): void {
    if (this.baud) throw new UartMisuse("setup called twice");
    if (!(baud > 0)) throw new UartMisuse(`bad baud rate ${baud}`);
    this.baud = baud;
  }

  write(data: string): void {
    if (!this.baud) throw new UartMisuse("write before setup");
    if (typeof data !== "string") throw new UartMisuse("write takes a string");
    for (let i = 0; i < data.length; i++) {
      if (data.charCodeAt(i) > 255) throw new UartMisuse(`char code ${data.charCodeAt(i)} at ${i} is not a byte`);
    }
    this.writes.push(data);
    if (this.onWrite) this.onWrite(data);
  }

  onData(listener: (chunk: string) => void): void {
    if (this.listener) throw new UartMisuse("a data listener is already registered");
    this.listener = listener;
  }

  /** All bytes written so far, as one string. */
  written(): string { return this.writes.join(""); }

  clearWrites(): void { this.writes.length = 0; }

  /**
   * From now on each chunk after the first of an injection comes a seeded random gap of 0
   * to `maxGapMs` after the one before, on `clock`; injections keep their order (one that
   * comes while an earlier one is still being delivered queues behind it). Paced chunks
   * arrive only as the clock advances, the first one too.
   */
  pace(clock: Clock, maxGapMs: number, seed = 7): void {
    this.paced = { clock, maxGapMs, rng: seed >>> 0 || 1, at: -Infinity };
  }

  /** Delivers `data` to the device's listener, cut into chunks. Returns the chunk sizes. */
  inject(data: string | Uint8Array): number[] {
    const s = typeof data === "string" ? data : String.fromCharCode(...data);
    if (!this.listener) throw new UartMisuse("data arrived but no listener is registered");
    const sizes: number[] = [];
    const p = this.paced;
    let i = 0;
    let at = p ? Math.max(p.clock.now(), p.at) : 0;
    while (i < s.length) {
      const n = Math.min(this.nextChunk(s.length - i), s.length - i);
      sizes.push(n);
      const chunk = s.slice(i, i + n);
      if (!p) this.listener(chunk);
      else {
        if (i > 0) at += (p.rng = xorshift(p.rng)) % (p.maxGapMs + 1);
        p.at = at;
        // always through the clock, even with no gap, so that order holds across injections
        p.clock.setTimeout(() => this.listener!(chunk), at - p.clock.now());
      }
      i += n;
    }
    return sizes;
  }

  private nextChunk(rest: number): number {
    const c = this.chunking;
    if (c.kind === "whole") return rest;
    if (c.kind === "fixed") return Math.max(1, c.size);
    this.rng = xorshift(this.rng);
    return 1 + (this.rng % Math.max(1, c.max));
  }
}

/** xorshift32: reproducible chunk sizes and gaps for a seed. */
function xorshift(x: number): number {
  x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5;
  return x >>> 0;
}
