/*
 * Start-up checks shared by every role's entry: the regions the role needs must be
 * whole erase units inside an area the interpreter reports free, and the device must
 * have a valid configuration (the entries call layout.ts's checkRegions with roleRegions, and
 * config.ts's readers). On failure the entry prints one line and stops.
 */
import { regionNames } from "./layout";

/**
 * One short line for a start-up failure code from checkRegions or a config reader: the
 * region's name when there is one, and the code, which the host names and explains
 * (flash.sh, the console: "(E31 REGION_NOT_FREE: ...)"; the meanings live in errors.ts).
 */
export function startupMessage(code: number): string {
  var err = code >= 256 ? (code / 256) | 0 : code;
  return "meterline: not started" + (code >= 256 ? ", region " + regionNames()[code % 256] : "") + " (E" + err + ")";
}
