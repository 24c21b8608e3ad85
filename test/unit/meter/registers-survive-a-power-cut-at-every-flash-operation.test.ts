import { describe, expect, it } from "vitest";
import { CUT_MODES, MockFlash, PowerCut } from "../../../hal/mock/flash";
import { VirtualClock } from "../../../hal/mock/clock";
import { MockPulseInput } from "../../../hal/mock/pins";
import { hostNative } from "../../../hal/mock/native";
import { recordLog } from "../../../firmware/common/records";
import { startMetering } from "../../../firmware/meter/metering";
import type { FlashGeometry } from "../../../firmware/common/layout";

const g: FlashGeometry = { base: 0, size: 8192, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 8 }] };
const REGS = { addr: 0, size: 2048 }, PROF = { addr: 2048, size: 4096 };

function boot(flash: MockFlash, clock: VirtualClock) {
  const pulse = new MockPulseInput();
  const scope = clock.scope();
  const m = startMetering(1, scope, pulse, recordLog(flash, REGS, 32, true, hostNative), recordLog(flash, PROF, 28, false, hostNative), []);
  return { m, pulse, scope };
}

describe("registers through power cuts", () => {
  it("after a cut at any flash operation, read back between the last completed save and the true count", () => {
    // a reference run counts the flash operations the scenario makes
    const runScenario = (flash: MockFlash, clock: VirtualClock, log: { truth: number; saved: number }) => {
      const { m, pulse } = boot(flash, clock);
      m.setSetting(3, Uint8Array.of(7, 0)); // save every 7 pulses
      m.setSetting(4, Uint8Array.of(0, 0)); // with no minimum spacing
      for (let i = 0; i < 400; i++) {
        clock.advance(100);
        pulse.edge(clock.now());
        log.truth = m.pulses();
        log.saved = m.savedPulses();
      }
    };
    const ref = new MockFlash(g);
    runScenario(ref, new VirtualClock(), { truth: 0, saved: 0 });
    const total = ref.ops;
    expect(total).toBeGreaterThan(60); // saves, boot records and erases while rotating
    let checked = 0;
    for (let k = 1; k < total; k++) {
      for (const mode of CUT_MODES) {
        const flash = new MockFlash(g);
        const clock = new VirtualClock();
        flash.planCut({ op: k, mode, fraction: 0.4, seed: k });
        const log = { truth: 0, saved: 0 };
        try { runScenario(flash, clock, log); } catch (e) { expect(e).toBeInstanceOf(PowerCut); }
        flash.reboot();
        const { m } = boot(flash, new VirtualClock());
        // log holds the state after the last pulse handled in full; the pulse whose save the
        // cut interrupted was counted too, so the true count is log.truth + 1 at most
        expect(m.pulses(), `cut at op ${k} (${mode})`).toBeGreaterThanOrEqual(log.saved);
        expect(m.pulses(), `cut at op ${k} (${mode})`).toBeLessThanOrEqual(log.truth + 1);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it("loses at most the pulses since the last save, and keeps settings through a restart", () => {
    const flash = new MockFlash(g);
    const clock = new VirtualClock();
    const a = boot(flash, clock);
    a.m.setSetting(3, Uint8Array.of(50, 0));
    a.m.setSetting(4, Uint8Array.of(0, 0));
    for (let i = 0; i < 120; i++) { clock.advance(100); a.pulse.edge(clock.now()); }
    a.scope.kill();
    const b = boot(flash, clock);
    expect(b.m.pulses()).toBe(100); // saved at 50 and 100; 20 pulses since are lost
    expect(b.m.settings.savePulses).toBe(50);
    expect(b.m.boots).toBe(2);
  });
});
