/*
 * The concentrator's readings store is bounded (16 files of 100 lines) and never drops a
 * reading the head-end has not acknowledged: once full, it refuses new ones (129), as
 * docs/concentrator.md says. The bench used to read the store and acknowledge nothing, so a
 * scenario with more readings than that (120 meters and 2 h of readings: about 2,000 lines)
 * failed every meter with "register never read after the update" although every meter had
 * answered. The bench now plays the head-end: it drains the store as npm run headend does
 * (export from its position, then acknowledge) and checks what it drained.
 */
import { describe, expect, it } from "vitest";
import { parseScenario } from "../../bench/scenario";
import { runScenario } from "../../bench/run";
import { STORE_FILES, STORE_LINES } from "../../firmware/concentrator/concentrator";

describe("a scenario whose readings outnumber the concentrator's store", () => {
  it("passes: every register is read before and after the update and every interval accounted for", async () => {
    // 4 meters read every minute for 7 h: about 1,800 lines, more than the store's 1,600
    const sc = parseScenario({
      name: "store-overflow", seed: 3, loss: { p: 0 }, image: { source: "synthetic", size: 2000, blockSize: 200 },
      meters: [1, 2, 3, 4].map((i) => ({ id: 1000 + i, pulsesPerHour: 300 })), readings: { hours: 7, readingMinutes: 1 },
    });
    const r = await runScenario(sc);
    expect(r.readings.lines).toBeGreaterThan(STORE_FILES * STORE_LINES);
    expect(r.reason).toBe("");
    expect(r.ok).toBe(true);
    for (const m of r.meters) {
      expect(m.register, `meter ${m.id}`).toBe(m.pulses);
      expect(m.registerAfter, `meter ${m.id}`).toBe(m.pulses);
      expect(m.intervalSum, `meter ${m.id}`).toBe(m.pulses - m.preClock);
    }
  }, 60_000);
});
