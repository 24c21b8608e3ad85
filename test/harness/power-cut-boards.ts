/*
 * Flash geometries for the power-cut sweeps, from the board profiles: the unit sizes and
 * addresses the firmware meets on each board, with the mock flash cut down to the span of
 * the regions a sweep uses (a 4 MiB ESP32 flash per cut point would only cost time).
 */
import type { FlashGeometry, Region, Regions } from "../../firmware/common/layout";
import { loadProfile } from "../../tools/profiles/profiles";

export interface CutBoard {
  /** What the sweep's messages call it. */
  name: string;
  g: FlashGeometry;
  r: Regions;
}

/** The part of `g` from `lo` to `hi` (both unit boundaries): the same units at the same addresses. */
export function flashSpan(g: FlashGeometry, lo: number, hi: number): FlashGeometry {
  const eraseUnits = [];
  for (const run of g.eraseUnits) {
    const end = run.addr + run.size * run.count;
    const a = Math.max(lo, run.addr), b = Math.min(hi, end);
    if (a >= b) continue;
    if ((a - run.addr) % run.size || (b - run.addr) % run.size) throw new Error(`span 0x${lo.toString(16)}..0x${hi.toString(16)} cuts an erase unit`);
    eraseUnits.push({ addr: a, size: run.size, count: (b - a) / run.size });
  }
  return { base: lo, size: hi - lo, writeAlign: g.writeAlign, eraseUnits };
}

/** A board's flash cut down to the span of `regions` (named from its profile, or given). */
export function boardFlash(board: string, name: string, regions: Regions): CutBoard {
  const p = loadProfile(board);
  const rs = Object.values(regions) as Region[];
  const lo = Math.min(...rs.map((x) => x.addr)), hi = Math.max(...rs.map((x) => x.addr + x.size));
  return { name, g: flashSpan(p.flash, lo, hi), r: regions };
}

/** A profile's regions by name (each must exist). */
export function profileRegions(board: string, names: (keyof Regions)[]): Regions {
  const p = loadProfile(board);
  const out: Regions = {};
  for (const n of names) {
    const r = p.regions[n];
    if (!r) throw new Error(`${board} has no ${n} region`);
    out[n] = r;
  }
  return out;
}
