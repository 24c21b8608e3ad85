/*
 * The boot routine's installer: copies a downloaded, activated image from the buffer into
 * the app region so that a power cut at any moment leaves a program to run, keeps the
 * previous program for a revert, runs the new one on trial and reverts it when it never
 * confirms itself. Contract with the meter program: docs/update.md; proof: test/unit/boot/.
 *
 * Inputs it trusts only after checking: the meter's state log (SESSION, END, ACTIVATE and
 * CONFIRM records, each with its CRC), the buffer (its digest chain) and the app and prev
 * regions (program header and CRC). Its own journal is the journal region, which nothing
 * else writes: 8-byte records (value, ~value; tags in common/update-image.ts), so an
 * erased or half-written record never decodes as written.
 *
 * At every start, for the pending activation (ACTIVATE newer than SESSION and END):
 *  1. without START: check the buffer's digest (bad: FAILED, the old program stays); erase
 *     the journal, write START (the copy flag).
 *  2. keep the previous program: when the app region holds a valid program of another
 *     version, copy it unit by unit into prev (PUNIT u), then PREV (NOPREV when there was
 *     none). A program of the new version or an invalid one is never copied over prev, so
 *     a copy cut short can never overwrite the kept program.
 *  3. copy: each app unit without UNIT (erase, write from the buffer's blocks, UNIT u).
 *  4. check the app region's digest: DONE (flag cleared); on a mismatch start over, up to
 *     MAX_ATTEMPTS, then FAILED (the program then runs from the buffer), or for a packed
 *     image a revert (it cannot run packed).
 * A packed image (common/image.ts) is unpacked chunk by chunk as it is copied, and the app
 * region checked against its plain digest; an interpreter without heatshrink refuses it
 * before anything is written (FAILED, BOOT_NO_UNPACK).
 *  5. trial: each start after DONE without a CONFIRM record for the image writes TRY; past
 *     MAX_TRIES, or when the new program throws at start, revert: RSTART, copy prev into
 *     the app region (RUNIT u), REVERTED.
 * Every step is idempotent: after a cut the next start finishes the job.
 */
import type { Flash, Native } from "../../hal/types";
import { getU16, getU32, putU32, U8, floor, sub, math } from "../common/bytes";
import { APP_HEADER_SIZE, eraseUnitAt, type Region, type Regions } from "../common/layout";
import { decodeAppHeader, decodePackedHeader, packedSession, type PackedHeader } from "../common/image";
import { RECORD_HEADER, recordPayload, recordSeq, recordType, recordValid } from "../common/records";
import {
  blockAddr, blockLength, bufferLayout, BufferLayout, decodeSession, digestMatches, JR_DONE, JR_FAILED, JR_NOPREV, JR_PREV, JR_PUNIT,
  JR_REVERTED, JR_RSTART, JR_RUNIT, JR_START, JR_TRY, JR_UNIT, MAX_TRIES, REC_ACTIVATE, REC_CONFIRM, REC_END,
  REC_SESSION, Session, STATE_SLOT,
} from "../common/update-image";
import { Err } from "../common/errors";
import { imageSource } from "./loader";

export var MAX_ATTEMPTS = 3;

/**
 * What the routine found and did. `code` 0 or an Err code; `attempt` the copy attempt that
 * ended it; `trial` true while the new program runs unconfirmed.
 */
export interface InstallResult { copied: boolean; code: number; imageId: number; attempt: number; trial: boolean; }

function result(copied: boolean, code: number, imageId: number, attempt: number, trial: boolean): InstallResult {
  return { copied: copied, code: code, imageId: imageId, attempt: attempt, trial: trial };
}

function unitSize(flash: Flash, addr: number): number {
  var u = eraseUnitAt(flash.geometry, addr);
  return u ? u.length : 0;
}

/** Newest valid record of each state-log type: [seq, address] per type 1..4. */
function stateRecords(flash: Flash, native: Native, state: Region): number[][] {
  var found = [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]];
  for (var a = state.addr; a + STATE_SLOT <= state.addr + state.size; a += STATE_SLOT) {
    var b = flash.read(a, STATE_SLOT);
    var t = recordType(b);
    if (t < 1 || t > 4 || !recordValid(native, b)) continue;
    var seq = recordSeq(b);
    if (seq > found[t][0]) found[t] = [seq, a];
  }
  return found;
}

function imageIdAt(flash: Flash, addr: number): number {
  // the ACTIVATE record's payload starts with the image id (u16)
  return getU16(flash.read(addr + RECORD_HEADER, 2), 0);
}

/** The pending activation's session, or null. Reads the meter's state log without writing it. */
export function pendingSession(flash: Flash, native: Native, state: Region): Session | null {
  var f = stateRecords(flash, native, state);
  var act = f[REC_ACTIVATE][0];
  if (!act || f[REC_SESSION][0] > act || f[REC_END][0] > act) return null;
  var rec = flash.read(f[REC_SESSION][1], STATE_SLOT);
  var s = decodeSession(recordPayload(rec));
  return s && imageIdAt(flash, f[REC_ACTIVATE][1]) === s.imageId ? s : null;
}

/** Bytes (header included) of the valid program in `r`, or 0; `version` gets its version. */
function programAt(flash: Flash, native: Native, r: Region, version: number[]): number {
  var h = decodeAppHeader(flash.read(r.addr, APP_HEADER_SIZE), r.size);
  var src = imageSource(native, r.size, function (o, n) { return flash.read(r.addr + o, n); }, function (o, n) { return flash.mapped(r.addr + o, n); });
  if (!h || typeof src === "number") return 0;
  version[0] = h.version;
  return APP_HEADER_SIZE + h.length;
}

/** Reads image bytes [o, o+n) from the buffer blocks that hold them (padding past the end). */
function imageReader(flash: Flash, lay: BufferLayout, s: Session): (o: number, n: number) => Uint8Array {
  return function (o, n) {
    var out = new U8(n), bs = s.blockSize;
    for (var k = 0; k < n;) {
      var i = floor((o + k) / bs), off = o + k - i * bs, m = math.min(bs - off, n - k);
      out.set(flash.read(blockAddr(lay, i) + off, m), k);
      k += m;
    }
    return out;
  };
}

/**
 * Reads plain bytes [o, o+n) of a packed image (common/image.ts) from its reader `raw`:
 * the chunk that holds them decompressed, the last one kept (copyUnits reads in order, 256
 * bytes a time, so each chunk is decompressed once a pass; RAM: one chunk). A chunk that
 * does not give its size leaves zeros, which the digest check after the copy finds.
 */
function unpacker(native: Native, raw: (o: number, n: number) => Uint8Array, p: PackedHeader): (o: number, n: number) => Uint8Array {
  var at = -1, cur: Uint8Array = new U8(0);
  return function (o, n) {
    var out = new U8(n);
    for (var k = 0; k < n;) {
      var c = floor((o + k) / p.chunk), off = o + k - c * p.chunk, m = math.min(n - k, p.chunk - off);
      // past the program: padding, as a plain image's last slot has
      if (c >= p.count) { for (; k < n; k++) out[k] = 0xff; break; }
      if (c !== at) { cur = (native.unshrink as (d: Uint8Array) => Uint8Array)(raw(p.offsets[c], p.offsets[c + 1] - p.offsets[c])); at = c; }
      out.set(sub(cur, off, off + m), k);
      k += m;
    }
    return out;
  };
}

/** Copies `length` bytes from `src` to region `dst`, unit by unit, skipping units in `done`; calls mark(u) after each. */
function copyUnits(flash: Flash, src: (o: number, n: number) => Uint8Array, dst: Region, length: number, done: number[], mark: (u: number) => void): void {
  var du = unitSize(flash, dst.addr);
  for (var u = 0; u * du < length; u++) {
    if (done.indexOf(u) >= 0) continue;
    flash.erase(dst.addr + u * du);
    var end = math.min(length, (u + 1) * du);
    for (var o = u * du; o < end; o += 256) {
      var n = math.min(256, end - o);
      flash.write(dst.addr + o, src(o, (n + 3) & ~3));
    }
    mark(u);
  }
}

export function install(flash: Flash, native: Native, r: Regions, crashed?: boolean): InstallResult {
  var s = pendingSession(flash, native, r.state!);
  if (!s) return result(false, 0, 0, 0, false);
  var sess: Session = s, id = s.imageId;
  var jr = r.journal!, app = r.app!, buf = r.buffer!, prev = r.prev!;
  var lay = bufferLayout(buf.addr, buf.size, unitSize(flash, buf.addr), s.blockSize);
  var word = new U8(8);
  var next = 0, attempt = 0, started = false, prevDone = false, done = false, tries = 0, rstarted = false;
  var units: number[] = [], punits: number[] = [], runits: number[] = [];

  for (var a = jr.addr; a + 8 <= jr.addr + jr.size; a += 8) {
    var w = flash.read(a, 8), v = getU32(w, 0);
    if (v === 0xffffffff && getU32(w, 4) === 0xffffffff) { if (!next) next = a; continue; }
    next = 0;
    if ((~v >>> 0) !== getU32(w, 4)) continue; // torn: skip, append after it
    var tag = (v & 0xf0000000) >>> 0, low = v & 0xffff;
    // settled earlier: a failed install keeps saying so; a finished revert is old news
    if ((tag === JR_FAILED || tag === JR_REVERTED) && low === id) return result(false, tag === JR_FAILED ? Err.BOOT_COPY_FAILED : 0, id, 0, false);
    if (tag === JR_START && low === id) { started = true; attempt = (v >>> 16) & 0xfff; units = []; }
    else if (!started) continue;
    else if (tag === JR_UNIT) units.push(low);
    else if (tag === JR_PUNIT) punits.push(low);
    else if ((tag === JR_PREV || tag === JR_NOPREV) && low === id) prevDone = true;
    else if (tag === JR_DONE && low === id) done = true;
    else if (tag === JR_TRY && low === id) tries++;
    else if (tag === JR_RSTART && low === id) rstarted = true;
    else if (tag === JR_RUNIT) runits.push(low);
  }
  if (!next) next = jr.addr + jr.size;

  function append(v: number): void {
    if (next + 8 > jr.addr + jr.size) {
      // never happens within one image's records on the supported geometries; stay safe anyway
      flash.erase(jr.addr);
      next = jr.addr;
    }
    putU32(word, 0, v);
    putU32(word, 4, ~v >>> 0);
    flash.write(next, word);
    next += 8;
  }

  function restart(att: number): void {
    flash.erase(jr.addr);
    next = jr.addr;
    append(JR_START | (att << 16) | id);
    if (prevDone) append(JR_PREV | id);
    attempt = att;
    units = [];
  }

  function revert(): InstallResult {
    var ver = [0];
    var len = programAt(flash, native, prev, ver);
    if (!len) {
      append(JR_REVERTED | id);
      return result(false, Err.BOOT_NO_PREVIOUS, id, attempt, false);
    }
    if (!rstarted) append(JR_RSTART | id);
    copyUnits(flash, function (o, n) { return flash.read(prev.addr + o, n); }, app, len, runits, function (u) { append(JR_RUNIT | u); });
    append(JR_REVERTED | id);
    return result(false, Err.BOOT_REVERTED, id, attempt, false);
  }

  if (rstarted) return revert();
  if (done) {
    var f = stateRecords(flash, native, r.state!);
    var confirmed = f[REC_CONFIRM][0] > f[REC_ACTIVATE][0] && imageIdAt(flash, f[REC_CONFIRM][1]) === id;
    if (confirmed) return result(false, 0, id, attempt, false);
    if (crashed || tries >= MAX_TRIES) return revert();
    append(JR_TRY | (tries + 1) << 16 | id);
    return result(false, 0, id, attempt, true);
  }

  // a packed image is unpacked into the app region and checked against its plain digest
  var fromBuffer = imageReader(flash, lay, s), pk = decodePackedHeader(fromBuffer, s.size);
  var check: Session = pk ? packedSession(s, pk) : s, length = pk ? pk.plain : s.size;
  if (!started) {
    if (!digestMatches(native, s, function (i) { return flash.read(blockAddr(lay, i), blockLength(sess, i)); })) {
      append(JR_FAILED | id);
      return result(false, Err.BOOT_BUFFER_BAD, id, 0, false);
    }
    // (and a packed image whose plain bytes would not fit the app region: the meter refuses
    // it at activation, this is the last line)
    if (pk && (!native.unshrink || pk.plain > app.size)) {
      append(JR_FAILED | id);
      return result(false, Err.BOOT_NO_UNPACK, id, 0, false);
    }
    restart(1);
  }
  if (!prevDone) {
    var ver = [0];
    var len = programAt(flash, native, app, ver);
    if (len && ver[0] !== s.version) {
      copyUnits(flash, function (o, n) { return flash.read(app.addr + o, n); }, prev, len, punits, function (u) { append(JR_PUNIT | u); });
      append(JR_PREV | id);
    } else append(JR_NOPREV | id);
    prevDone = true;
  }
  if (pk) fromBuffer = unpacker(native, fromBuffer, pk);
  for (;;) {
    copyUnits(flash, fromBuffer, app, length, units, function (u) { append(JR_UNIT | u); });
    if (digestMatches(native, check, function (k) { return flash.read(app.addr + k * check.blockSize, blockLength(check, k)); })) {
      append(JR_DONE | id);
      append(JR_TRY | (1 << 16) | id);
      return result(true, 0, id, attempt, true);
    }
    if (attempt >= MAX_ATTEMPTS) {
      // a packed image cannot run from the buffer as a plain one can: the previous program comes back
      if (pk) return revert();
      append(JR_FAILED | id);
      return result(true, Err.BOOT_COPY_FAILED, id, attempt, false);
    }
    restart(attempt + 1);
  }
}

/**
 * The last downloaded image, read from the buffer, when the app region has no program to
 * run: a reader of its bytes if the buffer holds every block and the digest checks, else
 * an Err code. Keeps a meter running when a copy failed for good.
 */
export function bufferImage(flash: Flash, native: Native, r: Regions): ((o: number, n: number) => Uint8Array) | number {
  var f = stateRecords(flash, native, r.state!);
  if (!f[REC_SESSION][0]) return Err.BOOT_NO_APP;
  var rec = flash.read(f[REC_SESSION][1], STATE_SLOT);
  var s = decodeSession(recordPayload(rec));
  if (!s) return Err.BOOT_NO_APP;
  var sess: Session = s, buf = r.buffer!;
  var lay = bufferLayout(buf.addr, buf.size, unitSize(flash, buf.addr), s.blockSize);
  if (!digestMatches(native, s, function (i) { return flash.read(blockAddr(lay, i), blockLength(sess, i)); })) return Err.BOOT_BUFFER_BAD;
  return imageReader(flash, lay, sess);
}
