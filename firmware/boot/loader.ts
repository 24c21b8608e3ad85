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
import { math } from "../common/bytes";

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
    for (var o = 0; o < h.length; o += CHUNK) src += native.bytesToString(read(APP_HEADER_SIZE + o, math.min(CHUNK, h.length - o)));
  }
  if (native.crc32(src) !== h.crc) return Err.BOOT_APP_CORRUPT;
  return src;
}

/** The program text of the app region, or an Err code when there is none or it is corrupt. */
export function appSource(flash: Flash, native: Native, app: Region): string | number {
  return imageSource(native, app.size, function (o, n) { return flash.read(app.addr + o, n); }, function (o, n) { return flash.mapped(app.addr + o, n); });
}

/**
 * How the boot routine hands its program to the boot stub (tools/flash/plan.ts, bootStub),
 * which evaluates it at global scope. `g.mlBoot()` gives the program text and deletes
 * itself, so nothing of the routine stays alive while the program starts (measured: 330
 * variables on 2v29), and leaves `g.mlRan`: 2 when the program is new and on trial, else 1.
 * When the program throws, the stub sets `g.mlThrew` (1) and runs the routine again, which
 * calls this with `threw`: a program on trial is reverted (`revert(BOOT_APP_THREW)`, which
 * reboots the board) and nothing is offered; any other gets `done(BOOT_APP_THREW)`. When a
 * program on trial has not set `g.mlUp` by the start deadline, the stub sets `g.mlThrew` to
 * 2 and does the same (`revert(BOOT_APP_SILENT)`), and reboots even if the routine threw.
 * `done(code)` is called whenever there is no program to offer; `choose()` gives the text
 * or an Err code.
 */
export function handover(g: { [k: string]: unknown }, choose: () => string | number, onTrial: boolean, revert: (why: number) => void, done: (code: number) => void): void {
  if (g.mlThrew) {
    var wasTrial = g.mlRan === 2, why = g.mlThrew === 2 ? Err.BOOT_APP_SILENT : Err.BOOT_APP_THREW;
    delete g.mlThrew;
    delete g.mlRan;
    if (!wasTrial) { done(why); return; }
    // the new program crashed or never started: put the previous one back; revert() then
    // reboots, so nothing the failed program left running (timers, watches, the modem's
    // UART handlers) runs beside the previous one
    revert(why);
    return;
  }
  var src = choose();
  if (typeof src === "number") { done(src); return; }
  var text: string = src, mark = onTrial ? 2 : 1;
  g.mlBoot = function () {
    delete g.mlBoot;
    g.mlRan = mark;
    return text;
  };
}
