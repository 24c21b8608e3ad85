/*
 * Start-up checks shared by every role's entry: the regions the role needs must be
 * whole erase units inside an area the interpreter reports free, and the device must
 * have a valid configuration. On failure the entry prints one line and stops.
 */
import { checkRegions, regionNames, roleRegions, type FlashGeometry, type Regions, type Area } from "./layout";
import { Err } from "./errors";

/** One short line for a start-up failure code from checkRegions or a config reader. */
export function startupMessage(code: number): string {
  var err = code >= 256 ? (code / 256) | 0 : code;
  var region = code >= 256 ? regionNames()[code % 256] : "";
  var why =
    err === Err.REGION_MISSING ? "is not in the board profile" :
    err === Err.REGION_UNALIGNED ? "is not whole flash pages" :
    err === Err.REGION_NOT_FREE ? "is not in the flash Flash.getFree() reports (interpreter binary or Storage there?)" :
    err === Err.CONFIG_MISSING ? "no device configuration: provision with flash.sh" :
    err === Err.CONFIG_CORRUPT ? "device configuration is corrupt: provision again with flash.sh" :
    "error";
  return "meterline: " + (region ? "region " + region + " " : "") + why + " (E" + err + ")";
}

/** 0 when the role's regions fit the free flash, else checkRegions' code. */
export function checkRoleRegions(role: string, g: FlashGeometry, regions: Regions, free: Area[]): number {
  return checkRegions(g, regions, roleRegions(role), free);
}
