/*
 * Keyed meters take an ACTIVATE only addressed to them (docs/security.md): a broadcast one is
 * dropped. So a keyed campaign, of either method, broadcasts none: every meter gets its own,
 * once, and ends activated. (The coded method used to broadcast its ACTIVATE several times,
 * wait for restarts that could not come, read every meter back, and only then activate each.)
 */
import { describe, expect, it } from "vitest";
import { Ms } from "../../firmware/concentrator/campaign";
import { keyedCampaign } from "../harness/keyed-campaign";

describe("a keyed campaign's activation", () => {
  for (const coded of [true, false]) {
    it(`${coded ? "coded" : "patent"} method: no broadcast ACTIVATE; one addressed to each meter, and every meter activated`, () => {
      const ids = [2001, 2002, 2003];
      const k = keyedCampaign(ids, 7);
      const { camp, code } = k.run(coded);
      expect(code).toBe(0);
      expect(ids.map((_, i) => camp.state(i))).toEqual(ids.map(() => Ms.ACTIVATED));
      const a = k.activates();
      expect(a.broadcast).toBe(0);
      expect(ids.map((id) => a.to.get(id) ?? 0)).toEqual(ids.map(() => 1));
      for (const id of ids) expect(k.meter(id).meter.onTrial(), `meter ${id} confirmed`).toBe(false);
    });
  }
});
