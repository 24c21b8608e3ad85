/*
 * The flash every program outside the boot routine uses: it refuses, by throwing the
 * numeric code FLASH_PROTECTED, any write or erase that would touch a protected region
 * (the boot region with the routine and the configuration, and the boot routine's
 * journal). Reads pass through. A refused operation changes nothing.
 */
import type { Flash } from "../../hal/types";
import { Err } from "./errors";
import { eraseUnitAt, type Region } from "./layout";

export function guardedFlash(flash: Flash, protectedRegions: Region[]): Flash {
  function check(addr: number, len: number): void {
    for (var i = 0; i < protectedRegions.length; i++) {
      var r = protectedRegions[i];
      if (addr < r.addr + r.size && addr + len > r.addr) throw Err.FLASH_PROTECTED;
    }
  }
  return {
    geometry: flash.geometry,
    // the HAL's own functions (called without their object: hal/types.ts Flash)
    read: flash.read,
    mapped: flash.mapped,
    write: function (addr, data) {
      check(addr, data.length);
      flash.write(addr, data);
    },
    erase: function (addr) {
      var u = eraseUnitAt(flash.geometry, addr);
      check(addr, u ? u.length : 1);
      flash.erase(addr);
    },
  };
}
