/*
 * The boot routine: evaluated from the boot region by the boot stub (a Storage boot
 * file written by flash.sh). It hands over to the program in the app region and never
 * throws: a missing or corrupt program leaves the meter at the prompt with one line.
 */
import profile from "board-profile";
import { espruinoFlash } from "../../hal/espruino/index";
import { runApp } from "./loader";

/** Defined by the bundle's banner (rollup.config.js): a direct eval at global scope. */
declare function mlEval(src: string): void;

var flash = espruinoFlash(profile.geometry, profile.memoryMapped);
var rc = runApp(flash, {
  crc32: function (d) { return E.CRC32(d) >>> 0; },
  bytesToString: function (d) { return E.toString(d); },
  sha256: null,
}, profile.regions.app!, mlEval);
if (rc) print("meterline boot: no program to run (E" + rc + ")");
