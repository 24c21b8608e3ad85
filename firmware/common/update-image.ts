/*
 * What the meter's update receiver, the boot routine and the host packager share about an
 * image being downloaded: the session record, the layout of blocks in the buffer region,
 * and the digest. Contract: docs/update.md.
 *
 * Buffer layout. Each erase unit of the buffer region holds k = floor(unit / (blockSize +
 * 4)) block slots followed by k mark words. Block i lives in unit floor(i / k), slot i % k;
 * its slot holds the block padded with 0xFF to blockSize. The mark word, written after the
 * block, is (crc32 of the slot) & 0x7FFFFFFF: never all ones, and it proves the slot was
 * written whole. Marks sit in the same erase unit as their blocks, so a unit found torn
 * after a power cut is erased with its marks and only its own blocks are fetched again.
 *
 * Digest (block by block with a one-shot native hash, bounded RAM):
 *   H0 = SHA-256(imageId u16 | version u32 | board u16 | size u32 | blockSize u16 | blockCount u16)
 *   Hi = SHA-256(H(i-1) | block i)        (block i without padding)   digest = Hn
 * Boards without native SHA-256 use the same chain with CRC-32 (4-byte values, little
 * endian, in the first 4 bytes of the digest field, the other 28 zero): it catches
 * corruption, not deliberate forgery.
 */
import type { Native } from "../../hal/types";
import { getU16, getU32, putU16, putU32, U8, floor, sub } from "./bytes";

export var SESSION_SIZE = 52;
/** Where a session record holds activateAt (u32): what may differ between two controls of the same image. */
export var SESSION_AT = 16;
/** Slot size of the state log (common/records.ts) holding SESSION, END and ACTIVATE records. */
export var STATE_SLOT = 64;
/** State log record types. */
export var REC_SESSION = 1;
export var REC_END = 2;
export var REC_ACTIVATE = 3;
/** Written by the meter program when the running new program is confirmed (imageId u16). */
export var REC_CONFIRM = 4;
/** Meter-only state-log records (the boot routine reads types 1 to 4 only): the counters' marks (receive u32, transmit u32), */
export var REC_COUNTER = 5;
/** the anti-rollback floor (highest version that confirmed itself), */
export var REC_FLOOR = 6;
/** and the newest head-end authorisation (kind u8, tag 16, the campaign's block key 16, the highest version ever authorised u32: firmware/meter/authorise.ts). */
export var REC_AUTHORISED = 7;

/**
 * The boot routine's journal (journal region): 8-byte records, value u32 then ~value.
 * The tag is the value's top 4 bits; the low 16 bits carry an image id or a unit number,
 * bits 16..27 an attempt or try count.
 */
export var JR_START = 0x10000000;
export var JR_UNIT = 0x20000000;
export var JR_DONE = 0x30000000;
export var JR_FAILED = 0x40000000;
export var JR_PUNIT = 0x50000000;
export var JR_PREV = 0x60000000;
export var JR_NOPREV = 0x70000000;
export var JR_TRY = 0x80000000;
export var JR_RSTART = 0x90000000;
export var JR_RUNIT = 0xa0000000;
export var JR_REVERTED = 0xb0000000;
/** Starts an unconfirmed new program gets before the boot routine reverts it. */
export var MAX_TRIES = 3;
/**
 * A new program on trial must say it has started (set `global.mlUp`) this long after the
 * boot stub handed it over, else the stub runs the boot routine again to revert it and
 * reboots (tools/flash/plan.ts, handoverStub). Separate from the confirmation, which can
 * come many minutes later.
 */
export var START_DEADLINE_MS = 20000;
/**
 * Hardware watchdog timeout: the boot routine arms it before handing a new program on
 * trial over (where the board has one), so a hang ends in a restart, which counts as a
 * try; the meter program kicks it from then on and arms it itself on every start.
 */
export var WATCHDOG_S = 60;
export var DIGEST_SIZE = 32;
export var MAX_BLOCK = 212;

export interface Session {
  imageId: number;
  version: number;
  board: number;
  size: number;
  blockSize: number;
  blockCount: number;
  activateAt: number;
  digest: Uint8Array;
}

/** The 16 header bytes the digest chain starts from (also the first 16 bytes of the record). */
function putHeader(s: Session, b: Uint8Array): void {
  putU16(b, 0, s.imageId);
  putU32(b, 2, s.version);
  putU16(b, 6, s.board);
  putU32(b, 8, s.size);
  putU16(b, 12, s.blockSize);
  putU16(b, 14, s.blockCount);
}

/** Record payload: header (16) | activateAt u32 | digest (32). */
export function encodeSession(s: Session): Uint8Array {
  var b = new U8(SESSION_SIZE);
  putHeader(s, b);
  putU32(b, SESSION_AT, s.activateAt);
  b.set(sub(s.digest, 0, DIGEST_SIZE), 20);
  return b;
}

export function decodeSession(b: Uint8Array | null): Session | null {
  if (!b || b.length !== SESSION_SIZE) return null;
  return {
    imageId: getU16(b, 0), version: getU32(b, 2), board: getU16(b, 6), size: getU32(b, 8),
    blockSize: getU16(b, 12), blockCount: getU16(b, 14), activateAt: getU32(b, SESSION_AT),
    digest: new U8(sub(b, 20, 20 + DIGEST_SIZE)),
  };
}

/** Bytes of block i (the last one may be short). */
export function blockLength(s: Session, i: number): number {
  var rest = s.size - i * s.blockSize;
  return rest < s.blockSize ? rest : s.blockSize;
}

export interface BufferLayout {
  addr: number;
  unit: number;
  units: number;
  /** Blocks per erase unit. */
  perUnit: number;
  blockSize: number;
  /** Blocks the region can hold. */
  capacity: number;
}

export function bufferLayout(addr: number, regionSize: number, unitSize: number, blockSize: number): BufferLayout {
  var per = floor(unitSize / (blockSize + 4));
  var units = floor(regionSize / unitSize);
  return { addr: addr, unit: unitSize, units: units, perUnit: per, blockSize: blockSize, capacity: per * units };
}

export function blockAddr(l: BufferLayout, i: number): number {
  return l.addr + floor(i / l.perUnit) * l.unit + (i % l.perUnit) * l.blockSize;
}

export function markAddr(l: BufferLayout, i: number): number {
  return l.addr + floor(i / l.perUnit) * l.unit + l.perUnit * l.blockSize + (i % l.perUnit) * 4;
}

/**
 * Digest chain state: one working buffer (32 + MAX_BLOCK bytes) allocated per chain.
 * `step` takes each block in index order, unpadded; `result` gives the 32-byte field.
 */
export interface DigestChain {
  step(block: Uint8Array): void;
  result(): Uint8Array;
}

/** Sets the chain value `h` to the hash of `b`: SHA-256, or on boards without it CRC-32 in the first 4 bytes. */
function chainHash(native: Native, h: Uint8Array, b: Uint8Array): void {
  if (native.sha256) h.set(native.sha256(b));
  else putU32(h, 0, native.crc32(b));
}

export function digestChain(native: Native, s: Session): DigestChain {
  // the chain value's length: SHA-256's 32 bytes, CRC-32's 4
  var n = native.sha256 ? DIGEST_SIZE : 4;
  var work = new U8(DIGEST_SIZE + MAX_BLOCK);
  var h = new U8(DIGEST_SIZE);
  var head = new U8(16);
  putHeader(s, head);
  chainHash(native, h, head);
  return {
    step: function (block) {
      work.set(sub(h, 0, n), 0);
      work.set(block, n);
      chainHash(native, h, sub(work, 0, n + block.length));
    },
    result: function () { return h; },
  };
}

/**
 * True when the image read block by block through `readBlock` has the session's digest:
 * all 32 bytes on SHA-256 boards; on CRC-32 boards the first 4, with the other 28 zero.
 */
export function digestMatches(native: Native, s: Session, readBlock: (i: number) => Uint8Array): boolean {
  var chain = digestChain(native, s);
  for (var i = 0; i < s.blockCount; i++) chain.step(readBlock(i));
  var d = chain.result(), n = native.sha256 ? DIGEST_SIZE : 4;
  for (var j = 0; j < DIGEST_SIZE; j++) if (s.digest[j] !== (j < n ? d[j] : 0)) return false;
  return true;
}
