/*
 * Loading the program in the app region: check its header and CRC, then evaluate it
 * from memory-mapped flash where the board maps flash (no copy into RAM), otherwise
 * from a copy read in chunks. A missing, corrupt or throwing program never throws out
 * of here: the caller gets a numeric code and stays in control.
 */
import { Err } from "../common/errors";
import { APP_HEADER_SIZE, type Region } from "../common/layout";
import { decodeAppHeader } from "../common/image";
import type { Flash, Native } from "../../hal/types";

/** Bytes read per chunk when flash is not memory-mapped. */
var CHUNK = 1024;

/**
 * The program text of an image, or an Err code when there is none or it is corrupt.
 * `read(offset, length)` reads image bytes; `mapped` gives them in place where it can.
 */
export function imageSource(native: Native, room: number, read: (o: number, n: number) => Uint8Array, mapped: ((o: number, n: number) => string | null) | null): string | number {
  var h = decodeAppHeader(read(0, APP_HEADER_SIZE), room);
  if (!h) return Err.BOOT_NO_APP;
  var src = mapped ? mapped(APP_HEADER_SIZE, h.length) : null;
  if (src === null) {
    src = "";
    for (var o = 0; o < h.length; o += CHUNK) src += native.bytesToString(read(APP_HEADER_SIZE + o, Math.min(CHUNK, h.length - o)));
  }
  if (native.crc32(src) !== h.crc) return Err.BOOT_APP_CORRUPT;
  return src;
}

/** The program text of the app region, or an Err code when there is none or it is corrupt. */
export function appSource(flash: Flash, native: Native, app: Region): string | number {
  return imageSource(native, app.size, function (o, n) { return flash.read(app.addr + o, n); }, function (o, n) { return flash.mapped(app.addr + o, n); });
}

/**
 * The boot routine hands its program over one text at a time, to be evaluated at global
 * scope by the boot stub (tools/flash/plan.ts, HANDOVER): `next()` gives the text to run,
 * or "" when there is nothing (more) to run, and then calls `done` with 0 when a program
 * ran, else the Err code that stopped the last one; `failed()` says that the text threw.
 *
 * `choose()` picks the program and gives its text or an Err code; when a program on trial
 * throws, `revert()` is called once, and then `choose()` again.
 */
export interface Handover {
  next(): string;
  failed(): void;
}

export function handover(choose: () => string | number, onTrial: boolean, revert: () => void, done: (code: number) => void): Handover {
  var pending = choose(), rc = 0, trial = onTrial;
  return {
    next: function () {
      if (typeof pending === "number") { rc = pending; pending = ""; }
      var s = pending;
      pending = "";
      if (s) rc = 0;
      else done(rc);
      return s;
    },
    failed: function () {
      rc = Err.BOOT_APP_THREW;
      if (!trial) return;
      // the new program crashed at start: put the previous one back and run that
      trial = false;
      revert();
      pending = choose();
    },
  };
}
