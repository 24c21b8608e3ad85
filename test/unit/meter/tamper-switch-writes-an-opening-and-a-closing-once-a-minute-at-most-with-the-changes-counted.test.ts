import { describe, expect, it } from "vitest";
import { MockFlash } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockSwitch } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { eventOf, Pr, startMetering } from "../../../firmware/meter/metering";
import { watchTamper } from "../../../firmware/meter/tamper";
import { Ev } from "../../../firmware/protocol/catalogue";
import { loadProfile } from "../../../tools/profiles/profiles";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 8192, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 8 }] };
const T0 = 1700000000;

function meter(open = false) {
  const flash = new MockFlash(g), clock = new VirtualClock(), sw = new MockSwitch();
  sw.state = open;
  const prof = recordLog(flash, { addr: 2048, size: 2048 }, 28, false, hostNative);
  const m = startMetering(1, clock.scope(), null, recordLog(flash, { addr: 0, size: 2048 }, 32, true, hostNative), prof, []);
  m.setTime(T0);
  watchTamper(sw, m, clock.scope());
  const covers = () => {
    const out: [number, number, number][] = [];
    prof.forEach((t, _s, p) => { if (t !== Pr.EVENT) return; const e = eventOf(p); if (e.code === Ev.COVER_OPENED || e.code === Ev.COVER_CLOSED) out.push([e.code, e.time - T0, e.data]); });
    return out;
  };
  return { m, clock, sw, covers };
}

describe("the meter cover's tamper switch", () => {
  it("writes an opening at the next minute and a closing when it is found closed, with the changes counted", () => {
    const { clock, sw, covers } = meter();
    clock.advance(10_000);
    sw.set(true);
    clock.advance(60_000);
    expect(covers()).toEqual([[Ev.COVER_OPENED, 60, 1]]);
    clock.advance(120_000);
    expect(covers().length).toBe(1); // still open: nothing more
    sw.set(false);
    clock.advance(60_000);
    expect(covers()).toEqual([[Ev.COVER_OPENED, 60, 1], [Ev.COVER_CLOSED, 240, 1]]);
  });

  it("an opening closed again within the minute is still written, and a chattering switch writes two events a minute at most", () => {
    const { clock, sw, covers } = meter();
    clock.advance(5_000);
    sw.set(true);
    clock.advance(1_000);
    sw.set(false);
    clock.advance(60_000);
    expect(covers()).toEqual([[Ev.COVER_OPENED, 60, 2], [Ev.COVER_CLOSED, 60, 0]]);
    // 500 changes in five minutes (it ends closed)
    for (let k = 0; k < 500; k++) { sw.set(k % 2 === 0); clock.advance(600); }
    sw.set(false);
    const n = covers().length;
    clock.advance(60_000);
    expect(covers().length - 2).toBeLessThanOrEqual(2 * 6);
    expect(covers().length).toBeGreaterThan(n - 1);
    const opened = covers().filter((c) => c[0] === Ev.COVER_OPENED).slice(1);
    expect(opened.reduce((a, c) => a + c[2], 0) + covers().filter((c) => c[0] === Ev.COVER_CLOSED).slice(1).reduce((a, c) => a + c[2], 0)).toBe(500);
  });

  it("a cover open at the start is written as an opening", () => {
    const { clock, covers } = meter(true);
    clock.advance(60_000);
    expect(covers()).toEqual([[Ev.COVER_OPENED, 60, 1]]);
  });

  it("is declared by the Linux build's profile (mlTamper at its console) and by no board without a switch", () => {
    expect(loadProfile("LINUX").tamperPin).toBe("console");
    expect(loadProfile("ESPRUINOBOARD").tamperPin).toBeNull();
    expect(loadProfile("ESP32").tamperPin).toBeNull();
  });
});
