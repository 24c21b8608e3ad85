/*
 * The boot routine: evaluated from the boot region by the boot stub (a Storage boot
 * file written by flash.sh). It finishes any pending install (install.ts), then hands over
 * to the program in the app region, or, when that has none, to the last image in the
 * buffer. It never throws: with no program at all the meter stays at the prompt with one
 * line saying why.
 */
import profile from "board-profile";
import { espruinoFlash } from "../../hal/espruino/index";
import type { Native } from "../../hal/types";
import { Err } from "../common/errors";
import { imageSource, runApp, runSource } from "./loader";
import { bufferImage, install } from "./install";

/** Defined by the bundle's banner (rollup.config.js): a direct eval at global scope. */
declare function mlEval(src: string): void;

var flash = espruinoFlash(profile.geometry, profile.memoryMapped);
var native: Native = {
  crc32: function (d) { return E.CRC32(d) >>> 0; },
  bytesToString: function (d) { return E.toString(d); },
  sha256: profile.sha256 ? function (d) { return new Uint8Array(require("crypto").SHA256(d)); } : null,
};
var rc = 0, trial = false;
try {
  var res = install(flash, native, profile.regions);
  rc = res.code;
  trial = res.trial;
} catch (e) {
  rc = Err.BOOT_COPY_FAILED;
}
if (rc) print("meterline boot: " + (rc === Err.BOOT_REVERTED ? "new program reverted" : "update not installed") + " (E" + rc + ")");
rc = runApp(flash, native, profile.regions.app!, mlEval);
if (rc === Err.BOOT_APP_THREW && trial) {
  // the new program crashed at start: put the previous one back and run that
  print("meterline boot: new program failed (E" + rc + "), reverting");
  install(flash, native, profile.regions, true);
  rc = runApp(flash, native, profile.regions.app!, mlEval);
}
if (rc === Err.BOOT_NO_APP || rc === Err.BOOT_APP_CORRUPT) {
  var img = bufferImage(flash, native, profile.regions);
  if (typeof img !== "number") rc = runSource(imageSource(native, profile.regions.buffer!.size, img, null), mlEval);
}
if (rc) print("meterline boot: no program to run (E" + rc + ")");
