/*
 * The boot routine: evaluated from the boot region by the boot stub (a Storage boot
 * file written by flash.sh). It finishes any pending install (install.ts), then hands
 * over to the program in the app region, or, when that has none, to the last image in
 * the buffer. It never throws: with no program at all the meter stays at the prompt with
 * one line saying why.
 *
 * The stub evaluates the program, not this routine: a program evaluated inside a
 * function would have that function's scope in every closure's scope chain, which costs
 * each closure an array on the interpreter. So this routine leaves `mlBoot` (loader.ts,
 * handover) as a global; the stub runs `eval(mlBoot())` at global scope, and when the
 * program throws it sets `mlThrew` and runs this routine again, which then installs
 * nothing and reverts a program on trial. A program on trial must also set `mlUp` within
 * START_DEADLINE_MS, else the stub runs this routine again to revert it and reboots.
 */
import profile from "board-profile";
import { espruinoFlash } from "../../hal/espruino/index";
import type { Native } from "../../hal/types";
import { Err } from "../common/errors";
import { appSource, handover, imageSource } from "./loader";
import { bufferImage, install } from "./install";
import { WATCHDOG_S } from "../common/update-image";
import { U8 } from "../common/bytes";

var flash = espruinoFlash(profile.geometry, profile.memoryMapped);
// native on every build that is not a bootloader: packed images unpack chunk by chunk; on an
// interpreter without it there is no unshrink, install refuses a packed image (108) before it
// writes anything, and the program is not told that packed images can be installed
var hs: { decompress(d: Uint8Array): ArrayBuffer } | null = null;
try { hs = require("heatshrink"); } catch (e) { hs = null; }
var native: Native = {
  crc32: function (d) { return E.CRC32(d) >>> 0; },
  bytesToString: function (d) { return E.toString(d); },
  sha256: profile.sha256 ? function (d) { return new U8(require("crypto").SHA256(d)); } : null,
  unshrink: hs ? function (d) { return new U8((hs as { decompress(d: Uint8Array): ArrayBuffer }).decompress(d)); } : undefined,
};
// the program learns from this that packed images can be installed (meter/update.ts activate)
if (hs) global.mlUnpack = 1;
var rc = 0, trial = false;
if (!global.mlThrew) {
  try {
    var res = install(flash, native, profile.regions);
    rc = res.code;
    trial = res.trial;
  } catch (e) {
    rc = Err.BOOT_COPY_FAILED;
  }
  if (rc) print("meterline boot: " + (rc === Err.BOOT_REVERTED ? "new program reverted" : "update not installed") + " (E" + rc + ")");
}

/** The app region's program, else the last verified image in the buffer. */
function choose(): string | number {
  var src = appSource(flash, native, profile.regions.app!);
  if (src === Err.BOOT_NO_APP || src === Err.BOOT_APP_CORRUPT) {
    var img = bufferImage(flash, native, profile.regions);
    if (typeof img !== "number") src = imageSource(native, profile.regions.buffer!.size, img, null);
  }
  return src;
}

// a new program on trial that hangs before it starts (and kicks) is restarted by the
// watchdog, where the board has one; every such start counts as a try (MAX_TRIES)
if (trial && profile.watchdog) E.enableWatchdog(WATCHDOG_S, false);
handover(global, choose, trial, function (why) {
  print("meterline boot: new program " + (why === Err.BOOT_APP_SILENT ? "did not start" : "failed") + " (E" + why + "), reverting");
  install(flash, native, profile.regions, true);
  // a fresh start runs the previous program with nothing of the failed one around it
  E.reboot();
}, function (code) {
  print("meterline boot: no program to run (E" + code + ")");
});
