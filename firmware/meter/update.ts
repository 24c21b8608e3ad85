/*
 * The meter's side of the update method: download session, blocks written straight into
 * the buffer region, progress that survives power cuts, missing-block reports, digest
 * check, activation hand-over to the boot routine. Layout, marks and digest:
 * common/update-image.ts; the contract with the boot routine: docs/update.md.
 *
 * Persistent state:
 * - the state log holds SESSION (the control fields and digest, written once the buffer
 *   is erased), END (session closed: aborted or replaced) and ACTIVATE records;
 * - progress is the mark words in the buffer, read back at start-up into a RAM bitmap
 *   (one bit per block). A unit holding a slot written without its mark (a cut during a
 *   block write) is erased at start-up, marks included: only its blocks are fetched again.
 * - coded method: repair blocks (REPAIR_BLOCK) that add to the decoder's rank are stored
 *   where they land, in the spare slots after the image's K (at most `rows` of them), each
 *   with a mark naming its index; recovered blocks are written to their own slots with
 *   their own marks, like received ones. So a power cut while receiving or decoding leaves
 *   marks that the start-up scan reads back, and the decode starts again from them.
 *
 * Never writes outside the buffer region (every address comes from the layout, checked
 * against the region) and never touches the boot region.
 */
import type { Flash, Native } from "../../hal/types";
import { Err } from "../common/errors";
import { getU32, putU16, putU32, U8, floor, math } from "../common/bytes";
import { erased, type RecordLog } from "../common/records";
import { eraseUnitAt, type Region } from "../common/layout";
import {
  blockAddr, blockLength, bufferLayout, BufferLayout, decodeSession, digestMatches, encodeSession, markAddr,
  MAX_BLOCK, REC_ACTIVATE, REC_END, REC_SESSION, SESSION_AT, SESSION_SIZE, Session,
} from "../common/update-image";
import { buildReport, isSet, MissingReport, setBit } from "../protocol/missing";
import { P, Ust } from "../protocol/catalogue";
import { PACKED_HEAD, PACKED_MAGIC, PACKED_PLAIN } from "../common/image";
import { Decoder, FREE, type DecoderOf } from "./decoder";


/** Update states, as STATUS_REPORT.state, DEFICIT.state and VERSION.state: the wire's values (the catalogue's Ust). */
export const enum Us { IDLE = Ust.IDLE, DOWNLOADING = Ust.DOWNLOADING, VERIFYING = Ust.VERIFYING, VERIFIED = Ust.VERIFIED, VERIFY_FAILED = Ust.VERIFY_FAILED, ACTIVATING = Ust.ACTIVATING }

export interface UpdateStats {
  stored: number;
  duplicate: number;
  corrupt: number;
  outOfSession: number;
  tornUnits: number;
  refused: number;
  /** Repair blocks stored, those that added nothing (or found no room), decodes done. */
  repairs: number;
  useless: number;
  decodes: number;
}

/** The coded method's status: blocks held, useful repair blocks still needed, free repair slots. */
export interface Deficit { received: number; needed: number; room: number }

export interface Receiver {
  state(): number;
  session(): Session | null;
  received(): number;
  stats: UpdateStats;
  /** UPDATE_CONTROL: 0 (accepted, download started or resumed) or a refusal code. `rollback`: an authorised rollback may be older. */
  control(s: Session, start: boolean, rollback?: boolean): number;
  /** DATA_BLOCK. Returns 0 stored, or a code saying why not (counted). */
  block(imageId: number, index: number, data: Uint8Array): number;
  /** REPAIR_BLOCK j. Returns 0 (stored, or of no use: counted), or a code. */
  repair(imageId: number, j: number, data: Uint8Array): number;
  /** Fills a DEFICIT's counts. */
  deficit(r: Deficit): void;
  /** Fills a STATUS_REPORT's missing-set fields. */
  report(r: MissingReport): void;
  abort(imageId: number): number;
  /** ACTIVATE: writes the hand-over record; the caller then restarts the board. */
  activate(imageId: number): number;
}

/**
 * The running program and the board; `floor`: the anti-rollback floor (highest version that
 * confirmed itself); `rows`: repair blocks the board keeps and decodes at once; `decoder`:
 * the board's decoder (decoder.ts; null: the meter keeps no repair blocks, it asks for plain ones);
 * `unpacks`: the boot routine installs packed images (it said so at start: boot/entry.ts
 * sets global.mlUnpack), else a packed image is refused at activation.
 */
export interface Installed { version: number; floor: number; board: number; maxImage: number; rows: number; decoder: DecoderOf | null; unpacks: boolean; }

export function updateReceiver(flash: Flash, native: Native, buffer: Region, journal: RecordLog, me: Installed): Receiver {
  var stats: UpdateStats = { stored: 0, duplicate: 0, corrupt: 0, outOfSession: 0, tornUnits: 0, refused: 0, repairs: 0, useless: 0, decodes: 0 };
  var unit = eraseUnitAt(flash.geometry, buffer.addr);
  var unitSize = unit ? unit.length : flash.geometry.eraseUnits[0].size;
  var sess: Session | null = null;
  var lay: BufferLayout | null = null;
  var got: Uint8Array = new U8(0);
  var count = 0, st = Us.IDLE as number;
  var word = new U8(4);
  // coded method: the spare slots' repair indices (FREE when empty), how many, the decoder;
  // `dirty`: the received set changed since the decoder last rebuilt its rows
  var ids = new Uint16Array(0), room = 0, dec: Decoder | null = null, dirty = true;

  function inBuffer(addr: number, len: number): boolean {
    return addr >= buffer.addr && addr + len <= buffer.addr + buffer.size;
  }

  function slotLen(i: number): number {
    return (blockLength(sess as Session, i) + 3) & ~3;
  }

  /** Slots the session uses: the image's, then the spare ones for repair blocks. */
  function slotsUsed(): number {
    return (sess as Session).blockCount + room;
  }

  /** Reads marks back into the bitmap and the repair slots' indices (open() has just cleared them); erases units left torn. */
  function scan(): void {
    var l = lay as BufferLayout, s = sess as Session, n = slotsUsed();
    // CRC of an erased slot, once per slot length (every image slot but the last, and every spare slot, is a full one)
    var blankFull = native.crc32(erased(s.blockSize)), lastLen = slotLen(s.blockCount - 1);
    var blankLast = native.crc32(erased(lastLen));
    for (var u = 0; u * l.perUnit < n; u++) {
      var torn = false;
      for (var k = 0; k < l.perUnit; k++) {
        var i = u * l.perUnit + k;
        if (i >= n) break;
        var spare = i >= s.blockCount, len = spare ? s.blockSize : slotLen(i);
        var mark = getU32(flash.read(markAddr(l, i), 4), 0);
        var slot = flash.read(blockAddr(l, i), len);
        if (mark !== 0xffffffff && markFor(spare ? mark >>> 16 : -1, slot) === mark) {
          if (spare) ids[i - s.blockCount] = mark >>> 16;
          else { setBit(got, i); count++; }
          continue;
        }
        // written without a valid mark: a cut during the block or its mark
        if (mark !== 0xffffffff || native.crc32(slot) !== (i === s.blockCount - 1 ? blankLast : blankFull)) torn = true;
      }
      if (torn) eraseUnit(u);
    }
    dirty = true;
  }

  function eraseUnit(u: number): void {
    var l = lay as BufferLayout, kb = (sess as Session).blockCount;
    flash.erase(l.addr + u * l.unit);
    stats.tornUnits++;
    dirty = true;
    for (var k = 0; k < l.perUnit; k++) {
      var i = u * l.perUnit + k;
      if (i < kb && isSet(got, i)) {
        got[i >> 3] &= ~(0x80 >> (i & 7));
        count--;
      } else if (i >= kb && i < kb + room) ids[i - kb] = FREE;
    }
  }

  /** Erases every unit the session's slots use (image and spare). */
  function eraseSlots(l: BufferLayout, slots: number): void {
    for (var u = 0; u < l.units && u * l.perUnit < slots; u++) flash.erase(l.addr + u * l.unit);
  }

  /**
   * Writes `data` into slot `i` (image or spare), reads it back and writes its mark.
   * Returns 0, or FLASH_VERIFY after erasing the unit (its blocks are fetched again).
   */
  /**
   * The mark of a slot: an image block's (j < 0), its bytes' CRC-32 less the top bit, or a
   * spare slot's holding repair block j (coded method): j in the top half (below 0x8000, so
   * never all ones) and the low 16 bits of the CRC-32.
   */
  function markFor(j: number, bytes: Uint8Array): number {
    var c = native.crc32(bytes);
    return (j < 0 ? c & 0x7fffffff : ((j & 0x7fff) << 16) | (c & 0xffff)) >>> 0;
  }

  function writeSlot(i: number, data: Uint8Array, j: number): number {
    var l = lay as BufferLayout, n = (data.length + 3) & ~3;
    var at = blockAddr(l, i), mat = markAddr(l, i);
    if (!inBuffer(at, n) || !inBuffer(mat, 4)) return Err.FLASH_OUTSIDE;
    // a block of whole words is written as it is; a shorter last one padded with 0xFF
    var slot = data;
    if (n !== data.length) { slot = erased(n); slot.set(data); }
    flash.write(at, slot);
    var mark = markFor(j, slot);
    if (markFor(j, flash.read(at, n)) !== mark) {
      // the flash did not take it: clear the unit so the block can be written again
      eraseUnit(floor(i / l.perUnit));
      return Err.FLASH_VERIFY;
    }
    putU32(word, 0, mark);
    flash.write(mat, word);
    return 0;
  }

  /** Stores image block i: slot, mark, bitmap. */
  function storeBlock(i: number, data: Uint8Array): number {
    var e = writeSlot(i, data, -1);
    if (e) { stats.corrupt++; return e; }
    setBit(got, i);
    count++;
    dirty = true;
    return 0;
  }

  function storedRepairs(): number {
    var n = 0;
    for (var t = 0; t < room; t++) if (ids[t] !== FREE) n++;
    return n;
  }

  /** The decoder, rebuilt from flash state when the received set changed. */
  function ready(): Decoder | null {
    if (dec && dirty) { dec.rebuild(got, ids, room, readBlock, readRepair); dirty = false; }
    return dec;
  }

  function lengthOf(i: number): number {
    return blockLength(sess as Session, i);
  }

  /** Image block i as stored (its real length). */
  function readBlock(i: number): Uint8Array {
    return flash.read(blockAddr(lay as BufferLayout, i), lengthOf(i));
  }

  /** The repair block in spare slot t. */
  function readRepair(t: number): Uint8Array {
    var s = sess as Session;
    return flash.read(blockAddr(lay as BufferLayout, s.blockCount + t), s.blockSize);
  }

  /** At full rank: recovers the missing blocks into their slots, then checks the image. */
  function decode(): void {
    var d = ready();
    // (called only while blocks are missing: with every block held the image is verified instead)
    if (!d || d.lacking()) return;
    stats.decodes++;
    d.solve(lengthOf, readBlock, readRepair, storeBlock);
    // whatever the solve wrote or failed to, the decoder catches up from flash next time
    dirty = true;
    if (count === (sess as Session).blockCount) verify();
  }

  function verify(): void {
    var s = sess as Session, l = lay as BufferLayout;
    st = Us.VERIFYING;
    if (digestMatches(native, s, readBlock)) { st = Us.VERIFIED; return; }
    // every block arrived (or was decoded) yet the image is wrong: start the download over
    st = Us.VERIFY_FAILED;
    eraseSlots(l, slotsUsed());
    forget();
  }

  /** Forgets every block and repair block held: the bitmap, the count, the spare slots' indices. */
  function forget(): void {
    got = new U8(((sess as Session).blockCount + 7) >> 3);
    count = 0;
    for (var t = 0; t < room; t++) ids[t] = FREE;
    dirty = true;
  }

  function open(s: Session): void {
    sess = s;
    lay = bufferLayout(buffer.addr, buffer.size, unitSize, s.blockSize);
    st = Us.DOWNLOADING;
    room = me.decoder ? math.max(0, math.min(lay.capacity - s.blockCount, me.rows)) : 0;
    ids = new Uint16Array(room);
    dec = room ? /*@__NOINLINE__*/ (me.decoder as DecoderOf)(s.blockCount, s.blockSize, room) : null;
    forget();
  }

  function close(imageId: number, reason: number): void {
    var b = new U8(4);
    putU16(b, 0, imageId);
    putU16(b, 2, reason);
    journal.append(REC_END, b);
    sess = null;
    lay = null;
    st = Us.IDLE;
    count = 0;
  }

  // start-up: resume the session the journal names, unless it was closed after it
  (function () {
    var s = decodeSession(journal.read(REC_SESSION));
    if (!s) return;
    var endSeq = -1, sessSeq = -1, actSeq = -1;
    journal.forEach(function (t, seq) {
      if (t === REC_SESSION) sessSeq = seq;
      else if (t === REC_END) endSeq = seq;
      else if (t === REC_ACTIVATE) actSeq = seq;
    });
    if (endSeq > sessSeq || actSeq > sessSeq) return;
    open(s);
    scan();
    if (count === s.blockCount) verify();
    else decode();
  })();

  return {
    stats: stats,
    state: function () { return st; },
    session: function () { return sess; },
    received: function () { return count; },
    control: function (s, start, rollback) {
      var code = 0, bs = s.blockSize, bc = s.blockCount;
      if (s.imageId === 0) code = Err.UPDATE_BAD_IMAGE_ID;
      else if (s.board !== me.board) code = Err.UPDATE_WRONG_BOARD;
      else if (bs < 4 || bs > MAX_BLOCK || bs % 4) code = Err.UPDATE_BAD_BLOCK_SIZE;
      else if (s.size < 1 || bc !== math.ceil(s.size / bs) || bc > P.MAX_BLOCKS) code = Err.UPDATE_BAD_SIZE;
      else if (s.size > me.maxImage || bc > bufferLayout(buffer.addr, buffer.size, unitSize, bs).capacity) code = Err.UPDATE_TOO_LARGE;
      else if (!rollback && (s.version <= me.version || s.version <= me.floor)) code = Err.UPDATE_NOT_NEWER;
      if (code) { stats.refused++; return code; }
      if (!start) return 0;
      // the same image again: resume, never reset progress
      // (the same image: their records' bytes agree but activateAt's)
      if (sess) {
        var x = encodeSession(sess), y = encodeSession(s);
        for (var i = 0; i < SESSION_SIZE && (x[i] === y[i] || (i > SESSION_AT - 1 && i < SESSION_AT + 4)); i++);
        if (i === SESSION_SIZE) return 0;
        close(sess.imageId, Err.OK);
      }
      open(s);
      eraseSlots(lay as BufferLayout, slotsUsed());
      journal.append(REC_SESSION, encodeSession(s));
      return 0;
    },
    block: function (imageId, index, data) {
      var s = sess;
      if (!s || imageId !== s.imageId || st !== Us.DOWNLOADING && st !== Us.VERIFY_FAILED) { stats.outOfSession++; return Err.UPDATE_NO_SESSION; }
      if (index >= s.blockCount || data.length !== blockLength(s, index)) { stats.corrupt++; return Err.BAD_ARG; }
      if (isSet(got, index)) { stats.duplicate++; return 0; }
      var e = storeBlock(index, data);
      if (e) return e;
      stats.stored++;
      if (st === Us.VERIFY_FAILED) st = Us.DOWNLOADING;
      if (count === s.blockCount) verify();
      // a plain block can complete the rank of the repair blocks already stored
      else if (s.blockCount - count <= storedRepairs()) decode();
      return 0;
    },
    repair: function (imageId, j, data) {
      var s = sess;
      if (!s || imageId !== s.imageId || st !== Us.DOWNLOADING && st !== Us.VERIFY_FAILED) { stats.outOfSession++; return Err.UPDATE_NO_SESSION; }
      if (j > 0x7fff || data.length !== s.blockSize) { stats.corrupt++; return Err.BAD_ARG; }
      if (ids.indexOf(j) >= 0) { stats.duplicate++; return 0; }
      var free = ids.indexOf(FREE), d = ready();
      // no room, or nothing new for this meter: not stored
      if (!d || free < 0 || !d.offer(j)) { stats.useless++; return 0; }
      var e = writeSlot(s.blockCount + free, data, j);
      if (e) { stats.corrupt++; return e; }
      ids[free] = j;
      d.keep(free, data, readBlock);
      stats.repairs++;
      if (st === Us.VERIFY_FAILED) st = Us.DOWNLOADING;
      if (!d.lacking()) decode();
      return 0;
    },
    deficit: function (r) {
      var d = ready();
      r.received = count;
      r.needed = d ? d.lacking() : sess ? sess.blockCount - count : 0;
      r.room = room - storedRepairs();
    },
    report: function (r) {
      buildReport(got, sess ? sess.blockCount : 0, P.MAX_MAP, r);
    },
    abort: function (imageId) {
      if (!sess || sess.imageId !== imageId) return Err.UPDATE_NO_SESSION;
      close(imageId, Err.OK);
      return 0;
    },
    activate: function (imageId) {
      if (!sess || sess.imageId !== imageId) return Err.UPDATE_NO_SESSION;
      if (st !== Us.VERIFIED) return Err.UPDATE_NOT_VERIFIED;
      // a packed image (common/image.ts): only a boot routine that unpacks can install it,
      // and only when its plain bytes fit (two words of the header: blocks are whole words, so neither straddles two)
      var bs = sess.blockSize;
      if (sess.size >= PACKED_HEAD && getU32(flash.read(blockAddr(lay as BufferLayout, 0), 4), 0) === PACKED_MAGIC) {
        if (!me.unpacks) return Err.BOOT_NO_UNPACK;
        if (getU32(flash.read(blockAddr(lay as BufferLayout, floor(PACKED_PLAIN / bs)) + PACKED_PLAIN % bs, 4), 0) > me.maxImage) return Err.UPDATE_TOO_LARGE;
      }
      var b = new U8(6);
      putU16(b, 0, imageId);
      putU32(b, 2, sess.version);
      journal.append(REC_ACTIVATE, b);
      st = Us.ACTIVATING;
      return 0;
    },
  };
}
