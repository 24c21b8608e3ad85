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

/** Evaluates a program text (or passes its error code on). Returns 0, or the Err code that stopped it. */
export function runSource(src: string | number, evaluate: (src: string) => void): number {
  if (typeof src === "number") return src;
  try {
    evaluate(src);
  } catch (e) {
    return Err.BOOT_APP_THREW;
  }
  return 0;
}

/** Evaluates the app region's program. Returns 0, or the Err code that stopped it. */
export function runApp(flash: Flash, native: Native, app: Region, evaluate: (src: string) => void): number {
  return runSource(appSource(flash, native, app), evaluate);
}
