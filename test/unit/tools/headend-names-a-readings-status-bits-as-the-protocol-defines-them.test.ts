/*
 * The head-end's reading payload names its status bits (issue 18: "status names"): a
 * load-profile interval's (OBIS group D = 29) as PROFILE's slots define them, a register's as
 * READINGS' do (docs/protocol.md), in bit order, and a bit neither table names as BIT<n>.
 */
import { describe, expect, it } from "vitest";
import { readingPayload, statusNames } from "../../../tools/headend/core";

describe("a reading's status names", () => {
  it("names an interval's and a register's bits, and any other bit by its number", () => {
    expect(statusNames("1-0:1.29.0", 0)).toEqual([]);
    expect(statusNames("1-0:1.29.0", 1)).toEqual(["MISSING"]);
    expect(statusNames("1-0:1.29.0", 4 | 8)).toEqual(["POWER_FAIL", "PARTIAL"]);
    expect(statusNames("8-0:1.29.0", 2 | 16 | 32)).toEqual(["CLOCK_ADJUSTED", "OVERFLOW", "CLOCK_NOT_SET"]);
    expect(statusNames("1-0:1.8.0", 1)).toEqual(["INVALID"]);
    expect(statusNames("1-0:1.8.1", 2)).toEqual(["CLOCK_NOT_SET"]);
    expect(statusNames("1-0:1.8.0", 4 | 128)).toEqual(["BIT2", "BIT7"]);
    expect(JSON.parse(readingPayload({ pos: 1, meter: 7, obis: "1-0:1.29.0", value: 0.25, unit: "Wh", time: 1_800_000_000, status: 12 }))).toEqual({
      value: 0.25, unit: "Wh", time: 1_800_000_000, status: 12, statusNames: ["POWER_FAIL", "PARTIAL"],
    });
  });
});
