/*
 * The boot routine's installer: copies a downloaded, activated image from the buffer into
 * the app region so that a power cut at any moment leaves a program to run. Contract with
 * the meter program: docs/update.md; the proof: test/unit/boot/.
 *
 * Inputs it trusts only after checking: the meter's state log (SESSION and ACTIVATE
 * records, each with its CRC) and the buffer (its digest chain). Its own journal is the
 * journal region, which nothing else writes: 8-byte records (value u32, ~value u32), so an
 * erased or half-written record never decodes as written:
 *   START  0x1000_0000 | attempt << 16 | imageId     copy in progress (the flag)
 *   UNIT   0x2000_0000 | u                           app unit u holds the new bytes
 *   DONE   0x3000_0000 | imageId                     copy verified: flag cleared
 *   FAILED 0x4000_0000 | imageId                     buffer bad, or copies kept failing
 *
 * Flow at every start: no pending activation, or DONE/FAILED for it: nothing to do.
 * Otherwise, without a START for it: check the buffer's digest (bad: FAILED, keep the old
 * program), erase the journal, write START. Then copy every app unit without a UNIT record
 * (erase, write from the buffer's blocks, record UNIT), check the app region's digest, and
 * write DONE; on a mismatch start over with the next attempt, up to MAX_ATTEMPTS, then
 * FAILED. Every step is idempotent, so after a cut the next start finishes the job.
 */
import type { Flash, Native } from "../../hal/types";
import { getU32, putU32 } from "../common/bytes";
import { eraseUnitAt, type Region, type Regions } from "../common/layout";
import { RECORD_MAGIC0, RECORD_MAGIC1 } from "../common/records";
import {
  blockAddr, blockLength, bufferLayout, decodeSession, digestChain, REC_ACTIVATE, REC_END, REC_SESSION,
  Session, STATE_SLOT,
} from "../common/update-image";
import { Err } from "../common/errors";

export var MAX_ATTEMPTS = 3;
var START = 0x10000000, UNIT = 0x20000000, DONE = 0x30000000, FAILED = 0x40000000;

/** What the routine found and did; `code` 0 or an Err code; `attempt` the copy attempt that ended it. */
export interface InstallResult { copied: boolean; code: number; imageId: number; attempt: number; }

function unitSize(flash: Flash, addr: number): number {
  var u = eraseUnitAt(flash.geometry, addr);
  return u ? u.length : 0;
}

/** The pending activation's session, or null. Reads the meter's state log without writing it. */
export function pendingSession(flash: Flash, native: Native, state: Region): Session | null {
  var best = [0, 0, 0, 0], at = [0, 0, 0, 0];
  for (var a = state.addr; a + STATE_SLOT <= state.addr + state.size; a += STATE_SLOT) {
    var b = flash.read(a, STATE_SLOT);
    var t = b[4];
    if (b[6] !== RECORD_MAGIC0 || b[7] !== RECORD_MAGIC1 || t < 1 || t > 3) continue;
    if (native.crc32(b.subarray(0, STATE_SLOT - 4)) !== getU32(b, STATE_SLOT - 4)) continue;
    var seq = getU32(b, 0);
    if (seq > best[t]) { best[t] = seq; at[t] = a; }
  }
  if (!best[REC_ACTIVATE] || best[REC_SESSION] > best[REC_ACTIVATE] || best[REC_END] > best[REC_ACTIVATE]) return null;
  var rec = flash.read(at[REC_SESSION], STATE_SLOT);
  var s = decodeSession(rec.subarray(8, 8 + rec[5]));
  var act = flash.read(at[REC_ACTIVATE], STATE_SLOT);
  return s && (act[8] | (act[9] << 8)) === s.imageId ? s : null;
}

/** Digest of the image as stored at `readBlock`. */
function digestOk(native: Native, s: Session, readBlock: (i: number) => Uint8Array): boolean {
  var chain = digestChain(native, s);
  for (var i = 0; i < s.blockCount; i++) chain.step(readBlock(i));
  var d = chain.result(), n = native.sha256 ? 32 : 4;
  for (var j = 0; j < 32; j++) if (s.digest[j] !== (j < n ? d[j] : 0)) return false;
  return true;
}

export function install(flash: Flash, native: Native, r: Regions): InstallResult {
  var s = pendingSession(flash, native, r.state!);
  if (!s) return { copied: false, code: 0, imageId: 0, attempt: 0 };
  var sess: Session = s;
  var jr = r.journal!, app = r.app!, buf = r.buffer!;
  var lay = bufferLayout(buf.addr, buf.size, unitSize(flash, buf.addr), s.blockSize);
  var word = new Uint8Array(8);
  var next = 0, attempt = 0, started = false, units: number[] = [];

  // read the journal: the last START for this image opens a copy; UNITs after it count
  for (var a = jr.addr; a + 8 <= jr.addr + jr.size; a += 8) {
    var w = flash.read(a, 8), v = getU32(w, 0);
    if (v === 0xffffffff && getU32(w, 4) === 0xffffffff) { if (!next) next = a; continue; }
    next = 0;
    if ((~v >>> 0) !== getU32(w, 4)) continue; // torn: skip, append after it
    var tag = v & 0xf0000000, low = v & 0xffff;
    if ((tag === DONE || tag === FAILED) && low === s.imageId) return { copied: false, code: tag === FAILED ? Err.BOOT_COPY_FAILED : 0, imageId: low, attempt: 0 };
    if (tag === START && low === s.imageId) { started = true; attempt = (v >>> 16) & 0xfff; units = []; }
    else if (tag === UNIT && started) units.push(v & 0xffff);
  }
  if (!next) next = jr.addr + jr.size; // full: the next append restarts the journal

  function append(v: number): void {
    if (next + 8 > jr.addr + jr.size) {
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
    append(START | (att << 16) | sess.imageId);
    attempt = att;
    units = [];
  }

  function fromBuffer(i: number): Uint8Array {
    return flash.read(blockAddr(lay, i), blockLength(sess, i));
  }

  if (!started) {
    if (!digestOk(native, s, fromBuffer)) {
      append(FAILED | s.imageId);
      return { copied: false, code: Err.BOOT_BUFFER_BAD, imageId: s.imageId, attempt: 0 };
    }
    restart(1);
  }
  var au = unitSize(flash, app.addr);
  for (;;) {
    for (var u = 0; u * au < s.size; u++) {
      if (units.indexOf(u) >= 0) continue;
      var ua = app.addr + u * au;
      flash.erase(ua);
      // the unit's bytes [u*au, u*au + au) come from the blocks that overlap them
      var end = Math.min(s.size, (u + 1) * au);
      for (var i = Math.floor((u * au) / s.blockSize); i * s.blockSize < end; i++) {
        var from = Math.max(i * s.blockSize, u * au), to = Math.min((i + 1) * s.blockSize, end);
        var n = (to - from + 3) & ~3;
        flash.write(app.addr + from, flash.read(blockAddr(lay, i) + (from - i * s.blockSize), n));
      }
      append(UNIT | u);
    }
    if (digestOk(native, s, function (k) { return flash.read(app.addr + k * sess.blockSize, blockLength(sess, k)); })) {
      append(DONE | s.imageId);
      return { copied: true, code: 0, imageId: s.imageId, attempt: attempt };
    }
    if (attempt >= MAX_ATTEMPTS) {
      append(FAILED | s.imageId);
      return { copied: true, code: Err.BOOT_COPY_FAILED, imageId: s.imageId, attempt: attempt };
    }
    restart(attempt + 1);
  }
}

/**
 * The last downloaded image, read from the buffer, when the app region has no program to
 * run: its program text if the buffer holds every block and the digest checks, else an
 * Err code. Keeps a meter running when a copy failed for good.
 */
export function bufferImage(flash: Flash, native: Native, r: Regions): ((o: number, n: number) => Uint8Array) | number {
  var state = r.state!, buf = r.buffer!, best = 0, at = -1;
  for (var a = state.addr; a + STATE_SLOT <= state.addr + state.size; a += STATE_SLOT) {
    var b = flash.read(a, STATE_SLOT);
    if (b[4] !== REC_SESSION || b[6] !== RECORD_MAGIC0 || b[7] !== RECORD_MAGIC1) continue;
    if (native.crc32(b.subarray(0, STATE_SLOT - 4)) !== getU32(b, STATE_SLOT - 4) || getU32(b, 0) < best) continue;
    best = getU32(b, 0);
    at = a;
  }
  if (at < 0) return Err.BOOT_NO_APP;
  var rec = flash.read(at, STATE_SLOT);
  var s = decodeSession(rec.subarray(8, 8 + rec[5]));
  if (!s) return Err.BOOT_NO_APP;
  var sess: Session = s;
  var lay = bufferLayout(buf.addr, buf.size, unitSize(flash, buf.addr), s.blockSize);
  if (!digestOk(native, s, function (i) { return flash.read(blockAddr(lay, i), blockLength(sess, i)); })) return Err.BOOT_BUFFER_BAD;
  return function (o, n) {
    var out = new Uint8Array(n), bs = sess.blockSize;
    for (var k = 0; k < n;) {
      var i = Math.floor((o + k) / bs), off = (o + k) - i * bs, m = Math.min(bs - off, n - k);
      out.set(flash.read(blockAddr(lay, i) + off, m), k);
      k += m;
    }
    return out;
  };
}
