/*
 * HAL contracts. Each is written as the guarantees a caller may rely on and the rules a
 * caller must keep. Device implementations: hal/espruino/. Host mocks: hal/mock/.
 * Firmware modules take these interfaces as parameters; none reaches a global.
 * The bottom layer: this file imports nothing (test/unit/tools/layers-import-one-way...).
 */

/** A run of `count` equal erase units of `size` bytes starting at `addr`. */
export interface EraseRun { addr: number; size: number; count: number; }

/** A chip's flash: where it is, how big, its erase units, its write granularity. */
export interface FlashGeometry {
  base: number;
  size: number;
  eraseUnits: EraseRun[];
  /** Writes start on, and cover whole, words of this many bytes. */
  writeAlign: number;
}

/**
 * A UART. Guarantees:
 * - `onData` delivers received bytes as a string of char codes 0..255, in order, in
 *   chunks of any size from one byte up; a frame may be split across chunks and one
 *   chunk may hold the end of one frame and the start of the next.
 * - `write` queues the whole string; bytes leave in call order; writes never interleave.
 * Rules: call `setup` once before `write`; register at most one data listener; pass only
 * strings whose char codes are 0..255.
 */
export interface Uart {
  setup(baud: number): void;
  write(data: string): void;
  onData(listener: (chunk: string) => void): void;
}

/**
 * On-chip flash. Guarantees:
 * - `read` returns a fresh copy of `length` bytes; it never fails inside the geometry.
 * - `erase(addr)` sets every byte of the erase unit starting at `addr` to 0xFF.
 * - `write` clears bits only: a byte reads as (old AND new).
 * Rules (a violation is a programming error: mocks throw, hardware corrupts):
 * - `addr` and `data.length` are multiples of geometry.writeAlign (4);
 * - each aligned word is written at most once between two erases of its unit;
 * - erase takes the start address of an erase unit;
 * - `read` and `mapped` work when called without their object (the flash guard,
 *   firmware/common/flash-guard.ts, hands them on as they are).
 * A power cut may interrupt any write or erase: the bytes it touched are then undefined.
 */
export interface Flash {
  readonly geometry: FlashGeometry;
  read(addr: number, length: number): Uint8Array;
  write(addr: number, data: Uint8Array): void;
  erase(unitAddr: number): void;
  /**
   * The bytes at `addr` as a string that points into memory-mapped flash (no copy), or
   * null where flash is not memory-mapped. Valid until the next write or erase there.
   */
  mapped(addr: number, length: number): string | null;
}

/**
 * Monotonic milliseconds and timers. Guarantees: `now` never decreases; a timer fires
 * once (timeout) or every `ms` (interval), never before its due time, in due-time order,
 * and never after it was cleared.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  setInterval(fn: () => void, ms: number): number;
  clear(id: number): void;
}

/**
 * A pulse input (S0 output, reed switch, LED sensor). Guarantees: `listener` runs once
 * per debounced pulse with the pulse's time in ms on the clock's scale. Rules: one
 * listener at a time; `stop` before starting again.
 */
export interface PulseInput {
  start(listener: (timeMs: number) => void, debounceMs: number): void;
  stop(): void;
}

/**
 * A two-state input: the meter cover's tamper switch. Guarantees: `watch`'s listener runs
 * once per debounced change, after which `open()` reads the new state (true: open). Rules:
 * one listener.
 */
export interface SwitchInput {
  watch(listener: () => void): void;
  open(): boolean;
}

/** A digital output (LED, modem T_REQ or RESETN). `set(true)` drives it high. */
export interface OutputPin {
  set(high: boolean): void;
}

/** Hardware watchdog. Once enabled it cannot be disabled; `kick` at least every timeout. */
export interface Watchdog {
  enable(timeoutSeconds: number): void;
  kick(): void;
}

/**
 * Native helpers (E.CRC32, crypto.SHA256 on the device): per-byte JavaScript loops are
 * far too slow on a board. `sha256` is null where the board has no native SHA-256.
 */
export interface Native {
  /** CRC-32 (IEEE 802.3, as zlib and E.CRC32), unsigned; a string counts its char codes as bytes. */
  crc32(data: Uint8Array | string): number;
  /** The bytes as a string of char codes 0..255 (E.toString on the device). */
  bytesToString(data: Uint8Array): string;
  sha256: ((data: Uint8Array) => Uint8Array) | null;
  /**
   * The interpreter's heatshrink decompress (window 8, lookahead 6, no header): the boot
   * routine's, for packed images (common/image.ts). It never fails: bad input gives bytes
   * of the wrong length or content, which the caller's checks find. Absent: no unpacking.
   */
  unshrink?: (data: Uint8Array) => Uint8Array;
  /**
   * The char codes 0..255 of a string as bytes (E.toUint8Array on the device). Given only to
   * the concentrator (its entry sets it), which turns an image kept as Storage text into
   * blocks: a character at a time that is 5 to 7 ms a 212-byte block on the Linux build, and
   * its repair blocks are built from a block per XOR. Absent: bytes are copied one by one.
   */
  stringToBytes?: (s: string) => Uint8Array;
}

/** The system. `reset` does not return. `resetCause` is a ResetCause value. */
export interface System {
  reset(): void;
  resetCause(): number;
  freeVariables(): number;
}

export const enum ResetCause {
  UNKNOWN = 0,
  POWER_ON = 1,
  SOFTWARE = 2,
  WATCHDOG = 3,
}

/** Everything a role's composition root receives. Absent parts are null. */
export interface Hal {
  flash: Flash;
  clock: Clock;
  modemUart: Uart;
  pulse: PulseInput | null;
  /** The meter cover's tamper switch, where the board profile declares one (`tamperPin`). */
  tamper?: SwitchInput | null;
  led: OutputPin | null;
  modemTreq: OutputPin | null;
  modemResetn: OutputPin | null;
  watchdog: Watchdog;
  system: System;
  native: Native;
}
