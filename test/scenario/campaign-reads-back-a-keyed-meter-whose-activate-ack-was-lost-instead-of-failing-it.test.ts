/*
 * A meter that takes its addressed ACTIVATE but whose ACK is lost is asked again. By then it
 * is activating (86) or runs the new image and has no session (a keyed meter says 144,
 * AUTH_NO_TAG, an unkeyed one 85). The campaign used to fail it with that code although it
 * was updated (a 120-meter keyed bench run ended with eleven such meters running v2,
 * confirmed, and marked failed E144); it now reads it back, and the read-back finds it
 * activated.
 */
import { describe, expect, it } from "vitest";
import { Ms } from "../../firmware/concentrator/campaign";
import { keyedCampaign } from "../harness/keyed-campaign";

describe("a keyed meter whose ACK to its ACTIVATE was lost", () => {
  // asked again at once it is still activating (86); unheard until it restarted, it runs the image (144)
  for (const [coded, deafMs, says] of [[true, 0, "86"], [false, 0, "86"], [true, 15_000, "144"], [false, 15_000, "144"]] as const) {
    it(`${coded ? "coded" : "patent"} method, answering ${says} when asked again: is read back and counted activated, not failed`, () => {
      const ids = [2101, 2102, 2103];
      const k = keyedCampaign(ids, 8);
      k.dropAck(2102, deafMs);
      const { camp, code } = k.run(coded);
      expect(k.errorsFrom(2102)).toContain(+says);
      expect(code).toBe(0);
      // it took the first ACTIVATE (the ACK was lost) and was asked again
      expect(k.activates().to.get(2102)).toBeGreaterThanOrEqual(2);
      expect(ids.map((_, i) => [camp.state(i), camp.codeOf(i)])).toEqual(ids.map(() => [Ms.ACTIVATED, 0]));
      expect(k.meter(2102).meter.onTrial()).toBe(false);
    });
  }
});
