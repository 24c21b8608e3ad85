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
import { getU32, putU32 } from "./bytes";
import { eraseUnitAt, type Region } from "./layout";

export var MAX_TYPES = 8;
export var RECORD_OVERHEAD = 12;
/** Bytes 6 and 7 of every record. */
export var RECORD_MAGIC0 = 0x5a;
export var RECORD_MAGIC1 = 0xa5;

/**
 * True when the slot bytes `b` (a whole slot) hold a record: the magic, a type below
 * MAX_TYPES, a length that fits, and the CRC. The one reading of the header, for the log
 * and for the boot routine's read-only scan of the meter's state log.
 */
export function recordValid(native: Native, b: Uint8Array): boolean {
  var n = b.length;
  return b[6] === RECORD_MAGIC0 && b[7] === RECORD_MAGIC1 && b[4] < MAX_TYPES && b[5] <= n - RECORD_OVERHEAD &&
    native.crc32(b.subarray(0, n - 4)) === getU32(b, n - 4);
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

export function recordLog(flash: Flash, region: Region, slot: number, carry: boolean, native: Native): RecordLog {
  var unit = eraseUnitAt(flash.geometry, region.addr);
  var unitSize = unit ? unit.length : region.size;
  var units = Math.floor(region.size / unitSize);
  var perUnit = Math.floor(unitSize / slot);
  var cap = slot - RECORD_OVERHEAD;
  var buf = new Uint8Array(slot);
  var latest: number[] = [];
  var latestSeq: number[] = [];
  for (var t = 0; t < MAX_TYPES; t++) { latest.push(-1); latestSeq.push(0); }
  var seq = 0, head = 0, next = 0; // next free slot index in the head unit
  var stats = { appends: 0, erases: 0, torn: 0 };

  function slotAddr(u: number, i: number): number {
    return region.addr + u * unitSize + i * slot;
  }

  for (var f = 0; f < slot; f++) buf[f] = 0xff;
  var blankCrc = native.crc32(buf);

  /** Reads a slot into buf: 1 valid, 0 erased, -1 written but invalid (torn or foreign). */
  function load(addr: number): number {
    var b = flash.read(addr, slot);
    buf.set(b);
    // native CRC instead of a per-byte loop: an erased slot has the CRC of all ones
    if (native.crc32(b) === blankCrc) return 0;
    // (recordValid's test, written out: the meter's program keeps its closures shallow)
    if (b[6] !== RECORD_MAGIC0 || b[7] !== RECORD_MAGIC1 || b[4] >= MAX_TYPES || b[5] > cap) return -1;
    return native.crc32(b.subarray(0, slot - 4)) === getU32(b, slot - 4) ? 1 : -1;
  }

  // scan: the head is the unit holding the highest seq; its next free slot follows its last used one
  var best = 0;
  for (var u = 0; u < units; u++) {
    for (var i = 0; i < perUnit; i++) {
      var a = slotAddr(u, i);
      var st = load(a);
      if (st === 0) continue;
      if (st < 0) { stats.torn++; continue; }
      var s = getU32(buf, 0), ty = buf[4];
      if (s > latestSeq[ty]) { latestSeq[ty] = s; latest[ty] = a; }
      if (s > best) { best = s; head = u; }
    }
  }
  // `next` follows the last slot of the head unit that is not erased: a torn slot counts as
  // used, also when no record was ever completed (a cut during the first append), since a
  // written word must not be programmed again before its unit is erased
  next = 0;
  for (var k = 0; k < perUnit; k++) if (load(slotAddr(head, k)) !== 0) next = k + 1;
  seq = best;

  function writeSlot(type: number, payload: Uint8Array, len: number): number {
    if (next >= perUnit) {
      head = (head + 1) % units;
      var ua = region.addr + head * unitSize;
      // forget what lived in the unit about to be erased
      for (var x = 0; x < MAX_TYPES; x++) if (latest[x] >= ua && latest[x] < ua + unitSize) latest[x] = -1;
      flash.erase(ua);
      stats.erases++;
      next = 0;
    }
    for (var i = 0; i < slot; i++) buf[i] = 0xff;
    seq++;
    putU32(buf, 0, seq);
    buf[4] = type;
    buf[5] = len;
    buf[6] = RECORD_MAGIC0;
    buf[7] = RECORD_MAGIC1;
    buf.set(payload.subarray(0, len), 8);
    putU32(buf, slot - 4, native.crc32(buf.subarray(0, slot - 4)));
    var addr = slotAddr(head, next);
    flash.write(addr, buf);
    next++;
    latest[type] = addr;
    latestSeq[type] = seq;
    stats.appends++;
    return 0;
  }

  function carryForward(): void {
    var oldest = (head + 1) % units;
    var lo = region.addr + oldest * unitSize;
    for (var t = 0; t < MAX_TYPES && next < perUnit; t++) {
      var a = latest[t];
      if (a < lo || a >= lo + unitSize) continue;
      var b = flash.read(a, slot);
      writeSlot(t, b.subarray(8), b[5]);
    }
  }

  return {
    capacity: cap,
    stats: stats,
    read: function (type) {
      if (type < 0 || type >= MAX_TYPES || latest[type] < 0) return null;
      var b = flash.read(latest[type], slot);
      return b.subarray(8, 8 + b[5]);
    },
    append: function (type, payload) {
      if (type < 0 || type >= MAX_TYPES) return Err.BAD_ARG;
      if (payload.length > cap) return Err.RECORD_TOO_LONG;
      if (carry && units > 1 && perUnit - next <= MAX_TYPES + 2) carryForward();
      writeSlot(type, payload, payload.length);
      return 0;
    },
    forEach: function (fn) {
      for (var n = 1; n <= units; n++) {
        var u = (head + n) % units;
        for (var i = 0; i < perUnit; i++) {
          if (load(slotAddr(u, i)) !== 1) continue;
          fn(buf[4], getU32(buf, 0), buf.subarray(8, 8 + buf[5]));
        }
      }
    },
  };
}
