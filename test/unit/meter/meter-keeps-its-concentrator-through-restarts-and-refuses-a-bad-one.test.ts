/*
 * The meter's concentrator (CONFIG key 12 HOME: its id, 0 none) lives in the settings record
 * beside the pulse constant and the save policy: kept through restarts, read back from a
 * record an older program wrote without it (12 bytes: no concentrator, the rest kept), and a
 * bad value refused with nothing changed.
 */
import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockPulseInput } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { eventOf, Pr, Rec, startMetering } from "../../../firmware/meter/metering";
import { Ev, Key, Kind } from "../../../firmware/protocol/catalogue";
import { Err } from "../../../firmware/common/errors";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 16384, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 16 }] };
const REGS = { addr: 0, size: 4096 }, PROF = { addr: 4096, size: 8192 };

function start(flash: MockFlash) {
  const prof = recordLog(flash, PROF, 28, false, hostNative);
  const regs = recordLog(flash, REGS, 32, true, hostNative);
  const m = startMetering(Kind.WATER, new VirtualClock().scope(), new MockPulseInput(), regs, prof, []);
  // (events wait for the clock)
  m.setTime(1_790_000_000);
  return { m, regs, prof };
}
const u16 = (v: number) => new Uint8Array([v & 255, v >> 8]);

describe("the meter's concentrator", () => {
  it("is none at first, set and kept through a restart with the other settings, and each change is a configuration event", () => {
    const flash = new MockFlash(g);
    let a = start(flash);
    expect(a.m.settings.home).toBe(0);
    expect(a.m.getSetting(Key.HOME)).toEqual(u16(0));
    expect(a.m.setSetting(Key.INTERVAL, u16(300))).toBe(0);
    expect(a.m.setSetting(Key.HOME, u16(0xfffe))).toBe(0);
    // the same again (a claim or a hand-over retried after a lost acknowledgement): accepted, nothing written
    const writes = a.regs.stats.appends;
    expect(a.m.setSetting(Key.HOME, u16(0xfffe))).toBe(0);
    expect(a.regs.stats.appends).toBe(writes);
    a = start(flash);
    expect([a.m.settings.home, a.m.settings.intervalS]).toEqual([0xfffe, 300]);
    expect(a.m.getSetting(Key.HOME)).toEqual(u16(0xfffe));
    expect(a.m.setSetting(Key.HOME, u16(0))).toBe(0); // released
    a = start(flash);
    expect(a.m.settings.home).toBe(0);
    const changes: number[] = [];
    a.prof.forEach((t, _s, p) => { if (t === Pr.EVENT && eventOf(p).code === Ev.CONFIG_CHANGED) changes.push(eventOf(p).data); });
    expect(changes).toEqual([Key.INTERVAL, Key.HOME, Key.HOME]);
  });

  it("refuses 0xFFFF (no concentrator has it) and a value of the wrong length, and keeps the one it has", () => {
    const flash = new MockFlash(g);
    let a = start(flash);
    expect(a.m.setSetting(Key.HOME, u16(7))).toBe(0);
    expect(a.m.setSetting(Key.HOME, u16(0xffff))).toBe(Err.CONFIG_BAD_VALUE);
    expect(a.m.setSetting(Key.HOME, new Uint8Array([7]))).toBe(Err.CONFIG_BAD_VALUE);
    expect(a.m.setSetting(Key.HOME, new Uint8Array([7, 0, 0, 0]))).toBe(Err.CONFIG_BAD_VALUE);
    a = start(flash);
    expect(a.m.settings.home).toBe(7);
  });

  it("reads an older program's 12-byte settings record: its settings kept, no concentrator", () => {
    const flash = new MockFlash(g);
    const old = new Uint8Array(12);
    new DataView(old.buffer).setUint32(0, 2000, true);
    new DataView(old.buffer).setUint16(4, 600, true);
    new DataView(old.buffer).setUint16(6, 50, true);
    new DataView(old.buffer).setUint16(8, 120, true);
    new DataView(old.buffer).setUint16(10, 1800, true);
    recordLog(flash, REGS, 32, true, hostNative).append(Rec.SETTINGS, old);
    const a = start(flash);
    expect(a.m.settings).toEqual({ constant: 2000, intervalS: 600, savePulses: 50, minSaveS: 120, maxSaveS: 1800, home: 0 });
  });
});
