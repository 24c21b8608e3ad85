import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockUart } from "../../../hal/mock/uart";
import { MockPin, MockPulseInput, MockSystem, MockWatchdog } from "../../../hal/mock/pins";
import { MockSt7580 } from "../../../hal/mock/st7580-modem";
import { hostNative } from "../../../hal/mock/native";
import { startMeter } from "../../../firmware/meter/meter";
import { st7580Factory } from "../../../firmware/link/factory";
import { MODEM_RETRY_MS } from "../../../firmware/link/modem";
import { loadProfile } from "../../../tools/profiles/profiles";
import { provisionedFlash } from "../../../bench/rig";

describe("a modem that is silent when the meter starts", () => {
  it("is started again every MODEM_RETRY_MS until it answers, and then carries frames", () => {
    const clock = new VirtualClock();
    const uart = new MockUart({ kind: "whole" });
    const treq = new MockPin(), resetn = new MockPin();
    const modem = new MockSt7580(clock, uart, treq, resetn, { baud: 57600 });
    modem.script.silent = true; // powered later than the board, say
    const board = loadProfile("LINUX");
    const meter = startMeter({
      flash: provisionedFlash(board, 1), clock, modemUart: uart, pulse: new MockPulseInput(), led: null, modemTreq: treq, modemResetn: resetn,
      watchdog: new MockWatchdog(() => clock.now()), system: new MockSystem(), native: hostNative,
    }, { board: "LINUX", code: 1, baud: 57600, maxImageSize: board.maxImageSize, repairRows: board.repairRows }, st7580Factory(57600), board.regions, { id: 5 });
    clock.advance(MODEM_RETRY_MS * 2);
    expect(meter.modem.busy()).toBe(true); // not ready
    const resetsWhileSilent = meter.modem.stats.resets;
    expect(resetsWhileSilent).toBeGreaterThanOrEqual(2);
    modem.script.silent = false;
    clock.advance(MODEM_RETRY_MS * 2);
    expect(meter.modem.busy()).toBe(false);
    expect(modem.dataLinkMode).toBe(true);
    // and it stays up: no more restarts once it answered
    const resets = meter.modem.stats.resets;
    clock.advance(MODEM_RETRY_MS * 5);
    expect(meter.modem.stats.resets).toBe(resets);
  });
});
