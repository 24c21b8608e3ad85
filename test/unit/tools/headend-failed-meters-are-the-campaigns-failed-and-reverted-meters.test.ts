import { describe, expect, it } from "vitest";
import { Ms } from "../../../firmware/concentrator/campaign";
import { failedMeters } from "../../../tools/headend/commands";

describe("the head-end's failed meters of a campaign", () => {
  it("are those in Ms.FAILED or Ms.REVERTED, with their codes named; no other state counts", () => {
    const states = [Ms.SELECTED, Ms.DOWNLOADING, Ms.CHECKED, Ms.COMPLETE, Ms.ACTIVATING, Ms.ACTIVATED, Ms.FAILED, Ms.REVERTED];
    const ids = states.map((_, i) => 1000 + i);
    const answer = ids.join(" ") + "|" + states.map((s) => `${s}:${s === Ms.FAILED ? 94 : s === Ms.REVERTED ? 108 : 0}`).join(" ");
    const { failed } = failedMeters(answer, null);
    expect(failed).toEqual([
      { meter: 1000 + states.indexOf(Ms.FAILED), code: 94, error: "CAMPAIGN_NO_ANSWER" },
      { meter: 1000 + states.indexOf(Ms.REVERTED), code: 108, error: "BOOT_NO_UNPACK" },
    ]);
  });
});
