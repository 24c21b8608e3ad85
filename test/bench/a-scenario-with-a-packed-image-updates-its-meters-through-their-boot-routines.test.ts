/*
 * Scenario files take packed images (image.compress: true): the campaign sends the packed
 * payload, each meter's boot routine unpacks it at install, and the run's checks (every
 * meter on the new version, its registers read before and after) pass as for a plain one,
 * in fewer blocks. A compress that is not true or false is refused by name.
 */
import { describe, expect, it } from "vitest";
import { parseScenario, ScenarioError } from "../../bench/scenario";
import { runScenario } from "../../bench/run";

describe("a scenario with a packed image", () => {
  const file = (compress: unknown) => ({
    name: "packed", seed: 4, loss: { p: 0.03 }, image: { source: "synthetic", size: 6000, blockSize: 200, compress },
    meters: [1, 2, 3].map((i) => ({ id: 1200 + i, pulsesPerHour: 200 })), readings: { hours: 1, readingMinutes: 15 },
  });

  it("updates every meter through its boot routine, in fewer blocks than the plain image", async () => {
    const packed = await runScenario(parseScenario(file(true)));
    expect(packed.reason).toBe("");
    expect(packed.ok).toBe(true);
    expect(packed.image.compressed).toBe(true);
    const plain = await runScenario(parseScenario(file(false)));
    expect(plain.ok).toBe(true);
    expect(plain.image.compressed).toBe(false);
    expect(packed.image.blocks).toBeLessThan(plain.image.blocks / 2);
  }, 120_000);

  it("refuses an image.compress that is not true or false", () => {
    expect(() => parseScenario(file("yes"))).toThrow(ScenarioError);
    expect(() => parseScenario(file("yes"))).toThrow(/image\.compress: must be true or false, got "yes"/);
  });
});
