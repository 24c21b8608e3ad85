import { describe, expect, it } from "vitest";
import { CUT_MODES, MockFlash, PowerCut } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockPulseInput } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { eventOf, Pr, startMetering, type Metering } from "../../../firmware/meter/metering";
import type { RecordLog } from "../../../firmware/common/records";
import { Ev } from "../../../firmware/protocol/catalogue";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 8192, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 8 }] };
const REGS = { addr: 0, size: 2048 }, PROF = { addr: 2048, size: 2048 };
/** A 15-minute boundary (1,699,999,200 = 900 x 1,888,888). */
const T0 = 1699999200;

/** `clockAt`: where the meter's clock stands at its start (ms): 0 on a board, the system's time on the Linux build. */
function start(flash: MockFlash, cause = 0, clockAt = 0) {
  const clock = new VirtualClock();
  clock.advance(clockAt);
  const pulse = new MockPulseInput();
  const prof = recordLog(flash, PROF, 28, false, hostNative);
  const m = startMetering(1, clock.scope(), pulse, recordLog(flash, REGS, 32, true, hostNative), prof, [], cause);
  return { m: Object.assign(m, { prof }), clock, pulse };
}

type E = { n: number; code: number; time: number; data: number };
/** The events from number `from` on (at most `max`), and the oldest number held, as the meter answers READ_REQ. */
function events(m: Metering & { prof: RecordLog }, from = 1, max = 200): { first: number; list: E[] } {
  const list: E[] = [];
  let first = 0;
  m.prof.forEach((t, _s, p) => {
    if (t === Pr.EVENT) { const e = eventOf(p); if (!first) first = e.n; if (e.n >= from && list.length < max) list.push(e); }
  });
  return { first, list };
}
const lastEvent = (m: Metering) => m.event(0, 0);

describe("the meter's event log", () => {
  it("times an outage from the last time the meter knew it ran to the start it learns when its clock is set", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    // the first start ever: no register yet, so no outage to time; written when the clock is set
    expect(events(a.m).list).toEqual([]);
    a.m.setTime(T0 + 100);
    expect(events(a.m).list).toEqual([
      { n: 1, code: Ev.POWER_UP, time: T0 + 100, data: 0 },
      { n: 2, code: Ev.REGISTER_RESET, time: T0 + 100, data: 1 },
    ]);
    // the interval ends at T0 + 900 and saves the register with that time; the power goes at T0 + 1,300
    a.clock.advance(1200 * 1000);
    const b = start(flash, 3);
    b.clock.advance(30 * 1000);
    expect(events(b.m).list.length).toBe(2); // waiting for the clock
    b.m.setTime(T0 + 5000);
    const l = events(b.m).list;
    expect(l.slice(2)).toEqual([
      { n: 3, code: Ev.POWER_DOWN, time: T0 + 900, data: 3 },
      { n: 4, code: Ev.POWER_UP, time: T0 + 4970, data: 4070 },
    ]);
    expect(lastEvent(b.m)).toBe(4);
  });

  it("times an outage also when the meter's clock does not start at 0 (the Linux build's is the system's: before, every outage there lasted 0 s)", () => {
    const flash = new MockFlash(g);
    const a = start(flash, 0, 1_790_000_000_000);
    a.m.setTime(T0 + 100);
    a.clock.advance(1200 * 1000); // the interval's end saves the register at T0 + 900; the power goes at T0 + 1,300
    const b = start(flash, 0, 1_790_000_000_000 + 3_700_000); // back 3,700 s later by the system's clock
    b.clock.advance(30 * 1000);
    b.m.setTime(T0 + 5030);
    expect(events(b.m).list.slice(2)).toEqual([
      { n: 3, code: Ev.POWER_DOWN, time: T0 + 900, data: 0 },
      { n: 4, code: Ev.POWER_UP, time: T0 + 5000, data: 4100 },
    ]);
  });

  it("a start that never got its clock loses its own events but not the outage: the next one spans both, numbers go on", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    a.m.setTime(T0 + 100);
    a.clock.advance(1000 * 1000); // register saved at T0 + 900
    const b = start(flash);
    b.clock.advance(2000 * 1000); // interval ends with no clock: the register keeps T0 + 900
    b.m.setSetting(3, Uint8Array.of(9, 0)); // waits in RAM, lost with this start
    const c = start(flash);
    c.clock.advance(10 * 1000);
    c.m.setTime(T0 + 9000);
    expect(events(c.m).list).toEqual([
      { n: 1, code: Ev.POWER_UP, time: T0 + 100, data: 0 },
      { n: 2, code: Ev.REGISTER_RESET, time: T0 + 100, data: 1 },
      { n: 3, code: Ev.POWER_DOWN, time: T0 + 900, data: 0 },
      { n: 4, code: Ev.POWER_UP, time: T0 + 8990, data: 8090 },
    ]);
  });

  it("records a clock adjustment with the old time, a configuration change with its key, and nothing for a refused setting or a same-second set", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    a.m.setTime(T0 + 100);
    a.clock.advance(10 * 1000);
    a.m.setTime(T0 + 110); // the same second: not an adjustment
    a.m.setTime(T0 + 230);
    expect(a.m.setSetting(3, Uint8Array.of(0, 0))).not.toBe(0); // refused: no event
    expect(a.m.setSetting(3, Uint8Array.of(50, 0))).toBe(0);
    expect(a.m.setGroup(1, 77)).toBe(0);
    expect(events(a.m, 3).list).toEqual([
      { n: 3, code: Ev.CLOCK_ADJUSTED, time: T0 + 230, data: T0 + 110 },
      { n: 4, code: Ev.CONFIG_CHANGED, time: T0 + 230, data: 3 },
      { n: 5, code: Ev.CONFIG_CHANGED, time: T0 + 230, data: 7 },
    ]);
    // from a number on, at most max
    expect(events(a.m, 4, 1).list.map((e) => e.n)).toEqual([4]);
  });

  it("keeps at most six events waiting for the clock", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    for (let k = 0; k < 8; k++) a.m.setSetting(3, Uint8Array.of(10 + k, 0));
    a.m.setTime(T0);
    const l = events(a.m).list;
    expect(l.map((e) => e.code)).toEqual([Ev.POWER_UP, Ev.REGISTER_RESET, Ev.CONFIG_CHANGED, Ev.CONFIG_CHANGED, Ev.CONFIG_CHANGED, Ev.CONFIG_CHANGED]);
    expect(lastEvent(a.m)).toBe(6);
  });

  it("when the ring lets go of old events, says which is the oldest held, and the numbering survives a restart with none left", () => {
    const flash = new MockFlash(g);
    const a = start(flash);
    a.m.setTime(T0);
    for (let k = 0; k < 5; k++) a.m.setSetting(3, Uint8Array.of(20 + k, 0));
    expect(lastEvent(a.m)).toBe(7);
    // two units of 36 slots: 80 intervals push every event out of the ring
    a.clock.advance(80 * 900 * 1000);
    expect(events(a.m).first).toBe(0);
    expect(events(a.m).list).toEqual([]);
    const b = start(flash);
    b.m.setTime(T0 + 80 * 900 + 60);
    const after = events(b.m);
    expect(after.list.map((e) => e.n)).toEqual([8, 9]);
    expect(after.first).toBe(8);
    // a few more intervals: events 8 and 9 still held, the oldest number answered stays 8
    b.clock.advance(10 * 900 * 1000);
    expect(events(b.m, 1).first).toBe(8);
  });

  it("a power cut at any flash operation while events are written leaves whole events with increasing numbers, and no number is given twice", () => {
    const run = (flash: MockFlash) => {
      const a = start(flash);
      a.m.setTime(T0);
      for (let k = 0; k < 30; k++) {
        a.m.setSetting(3, Uint8Array.of(30 + k, 0));
        a.clock.advance(300 * 1000);
      }
    };
    const ref = new MockFlash(g);
    run(ref);
    const total = ref.ops;
    expect(total).toBeGreaterThan(60);
    let checked = 0;
    for (let k = 1; k < total; k += 3) {
      for (const mode of CUT_MODES) {
        const flash = new MockFlash(g);
        flash.planCut({ op: k, mode, fraction: 0.5, seed: k });
        let last = 0;
        try { run(flash); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
        flash.reboot();
        const b = start(flash);
        const before = events(b.m).list;
        before.forEach((e, i) => { if (i) expect(e.n, `cut at ${k} ${mode}`).toBe(before[i - 1].n + 1); last = e.n; });
        b.m.setTime(T0 + 100000);
        const after = events(b.m).list;
        // the next start's events follow every number held before (and the register's)
        expect(after[after.length - 1].n).toBeGreaterThan(last);
        expect(after[before.length].n).toBeGreaterThan(last);
        expect(new Set(after.map((e) => e.n)).size).toBe(after.length);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });
});
