/*
 * A power-cut-safe record log over a flash region of two or more erase units, in fixed
 * slots written once each:
 *
 *   seq u32 | type u8 | len u8 | 0x5A 0xA5 | payload (slot - 12 bytes, 0xFF padded) | crc32 u32
 *
 * The CRC covers everything before it, so a torn write reads as "no record" and the
 * previous record of that type stands. `seq` increases across the whole log and is never
 * 0xFFFFFFFF, so an erased slot never passes as a record. Slots fill in order inside the
 * head unit; when it is full the next unit in the ring (the oldest) is erased and becomes
 * the head.
 *
 * `carry` (registers, settings, journals): the latest record of every type survives. Before
 * an append finds the head down to MAX_TYPES + 2 free slots, each type whose latest record
 * sits in the oldest unit is copied into the head, so erasing the oldest never loses a
 * type's last value, even if the power fails in the middle: a copy torn by a cut uses a
 * slot, and the two spare ones leave room for two such cuts (the next start copies again
 * what is still in the oldest unit). Units need MAX_TYPES + 3 slots. Without `carry` (load
 * profile) the log is a ring: the oldest records go when their unit is erased.
 *
 * One slot buffer allocated at open; the index keeps one address per type.
 */
import { Err } from "./errors";
import type { Flash, Native } from "../../hal/types";
import { getU32, putU32, U8, floor, sub, U32 } from "./bytes";
import { eraseUnitAt, type Region } from "./layout";

export var MAX_TYPES = 8;
export var RECORD_OVERHEAD = 12;
/** Bytes 6 and 7 of every record. */
export var RECORD_MAGIC0 = 0x5a;
export var RECORD_MAGIC1 = 0xa5;

/** Where a record's payload starts in its slot (after seq, type, len and the magic). */
export var RECORD_HEADER = 8;

/** A record's type, seq and payload (a view) in its slot's bytes: the one reading of the header's fields. */
export function recordType(b: Uint8Array): number { return b[4]; }
export function recordSeq(b: Uint8Array): number { return getU32(b, 0); }
export function recordPayload(b: Uint8Array): Uint8Array { return sub(b, RECORD_HEADER, RECORD_HEADER + b[5]); }

/**
 * True when the slot bytes `b` (a whole slot) hold a record: the magic, a type below
 * MAX_TYPES, a length that fits, and the CRC. The one reading of the header, for the log
 * and for the boot routine's read-only scan of the meter's state log.
 */
export function recordValid(native: Native, b: Uint8Array): boolean {
  var n = b.length;
  return b[6] === RECORD_MAGIC0 && b[7] === RECORD_MAGIC1 && b[4] < MAX_TYPES && b[5] <= n - RECORD_OVERHEAD &&
    native.crc32(sub(b, 0, n - 4)) === getU32(b, n - 4);
}

export interface RecordLog {
  /** Payload bytes per slot. */
  readonly capacity: number;
  /** The latest payload of `type` (a fresh copy of `len` bytes), or null. */
  read(type: number): Uint8Array | null;
  /** Appends a record; 0 or an error code. Throws only what the flash throws (a power cut). */
  append(type: number, payload: Uint8Array): number;
  /** Every valid record from oldest to newest: fn(type, seq, payload view valid during the call). */
  forEach(fn: (type: number, seq: number, payload: Uint8Array) => void): void;
  /** Records written since open, units erased since open. */
  stats: { appends: number; erases: number; torn: number };
}

/**
 * The scan at open, in a function of its own so that its loop variables do not stay in the
 * log's scope (on the interpreter every name there is a variable for the log's life: 5 a
 * log, 15 for the meter's three, measured with E.dumpVariables on the Original's count).
 * Fills `latest` and `latestSeq`; returns [highest seq, head unit, next free slot in it].
 */
function scanLog(load: (addr: number) => number, buf: Uint8Array, at: number, unitSize: number, units: number, perUnit: number, slot: number, latest: Int32Array, latestSeq: Uint32Array, stats: { torn: number }): number[] {
  var seq = 0, head = 0, next = 0, u: number, i: number, a: number, s: number;
  for (i = 0; i < MAX_TYPES; i++) latest[i] = -1;
  // the head is the unit holding the highest seq; its next free slot follows its last used one
  for (u = 0; u < units; u++) {
    for (i = 0; i < perUnit; i++) {
      a = at + u * unitSize + i * slot;
      s = load(a);
      if (s === 0) continue;
      if (s < 0) { stats.torn++; continue; }
      s = getU32(buf, 0);
      if (s > latestSeq[buf[4]]) { latestSeq[buf[4]] = s; latest[buf[4]] = a; }
      if (s > seq) { seq = s; head = u; }
    }
  }
  // `next` follows the last slot of the head unit that is not erased: a torn slot counts as
  // used, also when no record was ever completed (a cut during the first append), since a
  // written word must not be programmed again before its unit is erased
  for (i = 0; i < perUnit; i++) if (load(at + head * unitSize + i * slot) !== 0) next = i + 1;
  return [seq, head, next];
}

/** `n` bytes as erased flash reads (0xFF): a function, so its loop's name is not the log's (the update's receiver makes its blank slots with it too). */
export function erased(n: number): Uint8Array {
  var b = new U8(n);
  for (var i = 0; i < n; i++) b[i] = 0xff;
  return b;
}

export function recordLog(flash: Flash, region: Region, slot: number, carry: boolean, native: Native): RecordLog {
  // RAM: the meter keeps three of these, and every name in this scope and every function
  // below costs a variable per log on the interpreter, so helpers used once are written in
  // place and the scan at open is a function of its own (docs/meter.md, Memory)
  var unitSize = (eraseUnitAt(flash.geometry, region.addr) || { length: region.size }).length;
  var units = floor(region.size / unitSize);
  var perUnit = floor(unitSize / slot);
  var cap = slot - RECORD_OVERHEAD;
  var buf = /*@__NOINLINE__*/ erased(slot);
  // per type: the address of its latest record (-1: none) and that record's seq
  var latest = new Int32Array(MAX_TYPES), latestSeq = new U32(MAX_TYPES);
  var stats = { appends: 0, erases: 0, torn: 0 };
  var blankCrc = native.crc32(buf);

  /** Reads a slot into buf: 1 valid, 0 erased, -1 written but invalid (torn or foreign). */
  function load(addr: number): number {
    var b = flash.read(addr, slot);
    buf.set(b);
    // native CRC instead of a per-byte loop: an erased slot has the CRC of all ones
    if (native.crc32(b) === blankCrc) return 0;
    // (recordValid's test, written out: the meter's program keeps its closures shallow)
    if (b[6] !== RECORD_MAGIC0 || b[7] !== RECORD_MAGIC1 || b[4] >= MAX_TYPES || b[5] > cap) return -1;
    return native.crc32(sub(b, 0, slot - 4)) === getU32(b, slot - 4) ? 1 : -1;
  }

  var opened = /*@__NOINLINE__*/ scanLog(load, buf, region.addr, unitSize, units, perUnit, slot, latest, latestSeq, stats);
  // seq: the highest written; head: the unit written last; next: its next free slot
  var seq = opened[0], head = opened[1], next = opened[2];
  opened = null as unknown as number[];

  function writeSlot(type: number, payload: Uint8Array, len: number): void {
    var x: number;
    if (next >= perUnit) {
      head = (head + 1) % units;
      var ua = region.addr + head * unitSize;
      // forget what lived in the unit about to be erased
      for (x = 0; x < MAX_TYPES; x++) if (latest[x] >= ua && latest[x] < ua + unitSize) latest[x] = -1;
      flash.erase(ua);
      stats.erases++;
      next = 0;
    }
    for (x = 0; x < slot; x++) buf[x] = 0xff;
    seq++;
    putU32(buf, 0, seq);
    buf[4] = type;
    buf[5] = len;
    buf[6] = RECORD_MAGIC0;
    buf[7] = RECORD_MAGIC1;
    buf.set(sub(payload, 0, len), 8);
    putU32(buf, slot - 4, native.crc32(sub(buf, 0, slot - 4)));
    x = region.addr + head * unitSize + next * slot;
    flash.write(x, buf);
    next++;
    latest[type] = x;
    latestSeq[type] = seq;
    stats.appends++;
  }

  return {
    capacity: cap,
    stats: stats,
    read: function (type) {
      if (type < 0 || type >= MAX_TYPES || latest[type] < 0) return null;
      var b = flash.read(latest[type], slot);
      return sub(b, 8, 8 + b[5]);
    },
    append: function (type, payload) {
      if (type < 0 || type >= MAX_TYPES) return Err.BAD_ARG;
      if (payload.length > cap) return Err.RECORD_TOO_LONG;
      // carry forward: before the head unit fills, the latest record of each type that lives
      // in the oldest unit (the next to be erased) is written again
      if (carry && units > 1 && perUnit - next <= MAX_TYPES + 2) {
        var lo = region.addr + ((head + 1) % units) * unitSize;
        for (var t = 0; t < MAX_TYPES && next < perUnit; t++) {
          var w = latest[t];
          if (w < lo || w >= lo + unitSize) continue;
          var b = flash.read(w, slot);
          writeSlot(t, sub(b, 8), b[5]);
        }
      }
      writeSlot(type, payload, payload.length);
      return 0;
    },
    forEach: function (fn) {
      for (var n = 1; n <= units; n++) {
        var v = (head + n) % units;
        for (var j = 0; j < perUnit; j++) {
          if (load(region.addr + v * unitSize + j * slot) !== 1) continue;
          fn(buf[4], getU32(buf, 0), sub(buf, 8, 8 + buf[5]));
        }
      }
    },
  };
}
