/*
 * The scenario's verdict (bench/run-verdict.ts): an outage's losses are what the meter had not
 * saved (its register) and the interval it struck (its profile), and its POWER_UP event must
 * time it; a neighbouring concentrator's meter fails the run when ours reached it.
 */
import { describe, expect, it } from "vitest";
import { DAY0, neighbourProblems, OUTAGE_SLACK_S, verdict, type MeterOutcome, type NeighbourOutcome } from "../../bench/run-verdict";
import { parseScenario } from "../../bench/scenario";

const sc = parseScenario({ meters: [{ id: 1001 }], readings: { hours: 1 } });
const intervals = () => [DAY0, DAY0 + 900, DAY0 + 1800, DAY0 + 2700];
const meter = (o: Partial<MeterOutcome>): MeterOutcome => ({
  id: 1001, version: 2, confirmed: true, campaignState: "activated", code: 0,
  pulses: 500, preClock: 0, register: 500, registerAfter: 500, intervals: 4, intervalSum: 500, ...o,
});
const run = (m: MeterOutcome) => verdict(sc, 2, "campaign 2 ended: every meter done", 0, [m], intervals, []);

describe("the scenario's verdict", () => {
  it("takes an outage's unsaved pulses off the register and its interval's off the profile, and wants its POWER_UP to time it", () => {
    const outage = { register: 7, profile: 20, offSeconds: 2700, powerUps: [0, 2760] };
    expect(run(meter({ register: 493, registerAfter: 493, intervalSum: 480, outage }))).toEqual([]);
    // without the outage's account the same meter fails
    expect(run(meter({ register: 493, registerAfter: 493, intervalSum: 480 }))).toEqual([
      "meter 1001: register read 493 before the update, 500 pulses counted",
      "meter 1001: 4 profile intervals summing to 480, expected a sum of 500 (500 pulses, 0 before its clock was set)",
    ]);
    // one pulse more lost than the meter had unsaved: a reading lost
    expect(run(meter({ register: 492, registerAfter: 492, intervalSum: 480, outage }))).toEqual(["meter 1001: register read 492 before the update, 493 pulses counted"]);
    // the POWER_UP must say at least the time off, and not much more
    expect(run(meter({ register: 493, registerAfter: 493, intervalSum: 480, outage: { ...outage, powerUps: [0, 0] } }))).toEqual(["meter 1001: no POWER_UP event timing its outage of 2700 s (its POWER_UPs: 0, 0 s)"]);
    expect(run(meter({ register: 493, registerAfter: 493, intervalSum: 480, outage: { ...outage, powerUps: [2700 + OUTAGE_SLACK_S + 1] } }))).toHaveLength(1);
    expect(run(meter({ register: 493, registerAfter: 493, intervalSum: 479, outage }))).toEqual(["meter 1001: 4 profile intervals summing to 479, expected a sum of 480 (500 pulses, 0 before its clock was set, 20 in the interval an outage struck)"]);
  });

  it("fails a neighbour's meter that changed hands, was updated, got into our registry or store, or lost a reading, and our meters in its store", () => {
    const ok: NeighbourOutcome = { id: 2001, home: 2, version: 1, session: 0, pulses: 40, register: 40, inOurRegistry: false, inOurStore: 0 };
    expect(neighbourProblems(2, [ok], 0)).toEqual([]);
    expect(neighbourProblems(2, [{ ...ok, home: 1 }, { ...ok, id: 2002, version: 2, session: 2 }, { ...ok, id: 2003, inOurRegistry: true, inOurStore: 3 }, { ...ok, id: 2004, register: -1 }], 5)).toEqual([
      "neighbour's meter 2001: belongs to concentrator 1, not 2",
      "neighbour's meter 2002: runs v2, holds a download of image 2: our campaign reached it",
      "neighbour's meter 2003: in our registry, 3 readings in our store",
      "neighbour's meter 2004: register never read in its concentrator's store, 40 pulses counted",
      "the neighbour's store holds 5 readings of our meters",
    ]);
  });
});
