/*
 * Flash layout facts shared by every role: region names, erase-unit geometry and the
 * start-up check of regions against what the interpreter reports free.
 * Pure functions over plain data: the same code checks a profile at build time (host)
 * and the real flash at start-up (device).
 */
import { Err } from "./errors";
import type { EraseRun, FlashGeometry } from "../../hal/types";
import { floor } from "./bytes";

// the geometry is the HAL's contract (hal/types.ts); named here too for the layout's users
export type { EraseRun, FlashGeometry };

export interface Region { addr: number; size: number; }

/** Named regions; a role uses the ones it needs. */
export interface Regions {
  boot?: Region;
  state?: Region;
  registers?: Region;
  profile?: Region;
  store?: Region;
  app?: Region;
  buffer?: Region;
  /** The boot routine's copy journal: one erase unit written by nothing else. */
  journal?: Region;
  /** The previous program, kept by the boot routine for a revert. */
  prev?: Region;
  /** Keyed meters: the meter's root key and the one on its way (a record log only key rotation writes: firmware/meter/authorise.ts). */
  keys?: Region;
}

/*
 * The two lists below are functions, not tables: a device needs them once, at start-up,
 * and a table would stay in RAM for good (about 45 variables on 2v29).
 */

/** Region names in a fixed order: a region's index in this list is its numeric id in error reports. */
export function regionNames(): string[] {
  return "boot state registers profile store app buffer journal prev keys".split(" ");
}

/**
 * The regions a role needs: a meter all but the concentrator's store, and its keys region
 * when its board has one (`regions`: keyed boards); the concentrator keeps its program in Storage.
 */
export function roleRegions(role: string, regions?: Regions): string[] {
  return role === "meter" ? regionNames().filter(function (n) { return n !== "store" && (n !== "keys" || !!(regions && regions.keys)); }) : role === "concentrator" ? ["state", "store"] : [];
}

/** Bytes at the end of the boot region that hold the per-device configuration record. */
export var CONFIG_SIZE = 256;
/** Bytes of the header in front of a program in the app or buffer region. */
export var APP_HEADER_SIZE = 16;

export interface Area { addr: number; length: number; }

/** The erase unit holding `addr`, or null when the address is outside the geometry. */
export function eraseUnitAt(g: FlashGeometry, addr: number): Area | null {
  for (var i = 0; i < g.eraseUnits.length; i++) {
    var r = g.eraseUnits[i];
    if (addr >= r.addr && addr < r.addr + r.size * r.count) {
      var k = floor((addr - r.addr) / r.size);
      return { addr: r.addr + k * r.size, length: r.size };
    }
  }
  return null;
}

/** How many erase units a region spans, or -1 if it does not start and end on unit boundaries. */
export function unitsSpanned(g: FlashGeometry, r: Region): number {
  var n = 0;
  var a = r.addr;
  var end = r.addr + r.size;
  if (r.size <= 0) return -1;
  while (a < end) {
    var u = eraseUnitAt(g, a);
    if (!u || u.addr !== a) return -1;
    a += u.length;
    n++;
  }
  return a === end ? n : -1;
}

/**
 * Checks that each named region exists, is whole erase units and lies inside one free
 * area. Returns 0, or an error code times 256 plus the region's index in regionNames().
 */
export function checkRegions(g: FlashGeometry, regions: Regions, names: string[], free: Area[]): number {
  var all = regionNames();
  for (var i = 0; i < names.length; i++) {
    var id = all.indexOf(names[i]);
    var r = (regions as { [k: string]: Region | undefined })[names[i]];
    if (!r) return Err.REGION_MISSING * 256 + id;
    if (unitsSpanned(g, r) < 0) return Err.REGION_UNALIGNED * 256 + id;
    var inside = false;
    for (var j = 0; j < free.length; j++) {
      if (r.addr >= free[j].addr && r.addr + r.size <= free[j].addr + free[j].length) inside = true;
    }
    if (!inside) return Err.REGION_NOT_FREE * 256 + id;
  }
  return 0;
}
