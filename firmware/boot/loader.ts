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

/** The program text of the app region, or an Err code when there is none or it is corrupt. */
export function appSource(flash: Flash, native: Native, app: Region): string | number {
  var h = decodeAppHeader(flash.read(app.addr, APP_HEADER_SIZE), app.size);
  if (!h) return Err.BOOT_NO_APP;
  var at = app.addr + APP_HEADER_SIZE;
  var src = flash.mapped(at, h.length);
  if (src === null) {
    src = "";
    for (var o = 0; o < h.length; o += CHUNK) {
      var part = flash.read(at + o, Math.min(CHUNK, h.length - o));
      src += native.bytesToString(part);
    }
  }
  if (native.crc32(src) !== h.crc) return Err.BOOT_APP_CORRUPT;
  return src;
}

/** Evaluates the app region's program. Returns 0, or the Err code that stopped it. */
export function runApp(flash: Flash, native: Native, app: Region, evaluate: (src: string) => void): number {
  var src = appSource(flash, native, app);
  if (typeof src === "number") return src;
  try {
    evaluate(src);
  } catch (e) {
    return Err.BOOT_APP_THREW;
  }
  return 0;
}
