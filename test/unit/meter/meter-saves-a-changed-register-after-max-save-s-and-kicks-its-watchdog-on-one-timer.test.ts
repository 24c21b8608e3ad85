import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockUart } from "../../../hal/mock/uart";
import { MockPin, MockPulseInput, MockSystem, MockWatchdog } from "../../../hal/mock/pins";
import { MockSt7580 } from "../../../hal/mock/st7580-modem";
import { hostNative } from "../../../hal/mock/native";
import { startMeter } from "../../../firmware/meter/meter";
import { Key } from "../../../firmware/protocol/catalogue";
import { st7580Factory } from "../../../firmware/link/factory";
import { WATCHDOG_S } from "../../../firmware/common/update-image";
import { loadProfile } from "../../../tools/profiles/profiles";
import { provisionedFlash } from "../../../bench/rig";

describe("the meter's 10 s timer", () => {
  it("saves a register that changed by fewer pulses than savePulses once maxSaveS has passed since the last save, and kicks the watchdog every 10 s", () => {
    const clock = new VirtualClock();
    const uart = new MockUart({ kind: "whole" });
    const treq = new MockPin(), resetn = new MockPin();
    new MockSt7580(clock, uart, treq, resetn, { baud: 57600 });
    const board = loadProfile("LINUX");
    const pulse = new MockPulseInput(), watchdog = new MockWatchdog(() => clock.now());
    const meter = startMeter({
      flash: provisionedFlash(board, 1), clock, modemUart: uart, pulse, led: null, modemTreq: treq, modemResetn: resetn,
      watchdog, system: new MockSystem(), native: hostNative,
    }, { board: "LINUX", code: 1, baud: 57600, maxImageSize: board.maxImageSize, repairRows: board.repairRows }, st7580Factory(57600), board.regions, { id: 5 });
    const m = meter.metering, s = m.settings;
    const u16 = (v: number) => new Uint8Array([v & 0xff, v >> 8]);
    // hourly intervals (closing one saves the register: the change below is not at a close)
    // and a save at most 600 s after a change, at t = 0 (the clock starts at 0, the close saves)
    expect(clock.now()).toBe(0);
    expect(m.setSetting(Key.INTERVAL, u16(3600))).toBe(0);
    expect(m.setSetting(Key.MAX_SAVE, u16(600))).toBe(0);
    expect(s.savePulses).toBeGreaterThan(3);
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) { clock.advance(1000); pulse.edge(clock.now()); }
    expect(m.pulses()).toBe(3);
    expect(m.savedPulses()).toBe(0); // fewer than savePulses: not saved at once
    clock.advance(590_000 - clock.now()); // t = 590 s: 600 s not yet passed since the last save
    expect(m.savedPulses()).toBe(0);
    clock.advance(20_000); // t = 610 s: within one 10 s tick of maxSaveS
    expect(m.savedPulses()).toBe(3);
    const appends = m.savedPulses();
    clock.advance(2_000_000); // nothing changed since (the hourly close saves again, the same count)
    expect(m.savedPulses()).toBe(appends);
    // the watchdog was kicked all along: never WATCHDOG_S without a kick
    expect(watchdog.timeoutSeconds).toBe(WATCHDOG_S);
    expect(watchdog.kicks).toBeGreaterThanOrEqual(Math.floor(clock.now() / 10_000));
    expect(clock.now() - watchdog.lastKick).toBeLessThanOrEqual(10_000);
  });
});
