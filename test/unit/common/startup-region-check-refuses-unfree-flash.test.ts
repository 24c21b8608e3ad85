import { describe, expect, it } from "vitest";
import { checkRegions, eraseUnitAt, unitsSpanned, regionNames, roleRegions } from "../../../firmware/common/layout";
import { startupMessage } from "../../../firmware/common/startup";
import { Err } from "../../../firmware/common/errors";
import { loadProfile } from "../../../tools/profiles/profiles";

describe("start-up region check", () => {
  const p = loadProfile("ESPRUINOBOARD");

  it("passes when Flash.getFree() covers every region the role needs", () => {
    expect(checkRegions(p.flash, p.regions, roleRegions("meter", p.regions), p.freeAreas)).toBe(0);
  });

  it("refuses a region the interpreter does not report free, naming the region", () => {
    // a chip without the undocumented upper 128 KiB: only Storage's neighbours are free
    const code = checkRegions(p.flash, p.regions, roleRegions("meter", p.regions), [{ addr: 0x08038000, length: 0x3000 }]);
    expect((code / 256) | 0).toBe(Err.REGION_NOT_FREE);
    expect(regionNames()[code % 256]).toBe("boot");
    expect(startupMessage(code)).toBe(`meterline: not started, region boot (E${Err.REGION_NOT_FREE})`);
    // free area that stops one page short of the buffer's end
    const short = checkRegions(p.flash, p.regions, roleRegions("meter", p.regions), [{ addr: 0x08040000, length: p.regions.buffer!.addr + p.regions.buffer!.size - 0x08040000 - 0x800 }]);
    expect(regionNames()[short % 256]).toBe("buffer");
  });

  it("refuses a missing or unaligned region", () => {
    const { buffer: _drop, ...noBuffer } = p.regions;
    const code = checkRegions(p.flash, noBuffer, roleRegions("meter"), p.freeAreas);
    expect(code).toBe(Err.REGION_MISSING * 256 + regionNames().indexOf("buffer"));
    const bad = { ...p.regions, state: { addr: 0x08041004, size: 4096 } };
    expect(checkRegions(p.flash, bad, roleRegions("meter"), p.freeAreas)).toBe(Err.REGION_UNALIGNED * 256 + 1);
    expect(startupMessage(Err.REGION_UNALIGNED * 256 + 1)).toBe(`meterline: not started, region state (E${Err.REGION_UNALIGNED})`);
    expect(startupMessage(Err.CONFIG_MISSING)).toBe(`meterline: not started (E${Err.CONFIG_MISSING})`);
  });

  it("erase-unit arithmetic on mixed STM32F4 sectors", () => {
    const w = loadProfile("ESPRUINOWIFI").flash;
    expect(eraseUnitAt(w, 0x08005000)).toEqual({ addr: 0x08004000, length: 0x4000 });
    expect(eraseUnitAt(w, 0x08012345)).toEqual({ addr: 0x08010000, length: 0x10000 });
    expect(eraseUnitAt(w, 0x08070000)).toEqual({ addr: 0x08060000, length: 0x20000 });
    expect(eraseUnitAt(w, 0x08080000)).toBeNull();
    expect(unitsSpanned(w, { addr: 0x08004000, size: 0x8000 })).toBe(2);
    // 16 KiB + part of the 64 KiB sector is not whole units
    expect(unitsSpanned(w, { addr: 0x0800c000, size: 0x8000 })).toBe(-1);
    expect(unitsSpanned(w, { addr: 0x0800c000, size: 0x14000 })).toBe(2);
  });
});
