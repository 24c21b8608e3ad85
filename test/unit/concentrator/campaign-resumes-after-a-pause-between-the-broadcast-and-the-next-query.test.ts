/*
 * A campaign paused in the short wait between the end of its broadcast and its next query
 * (the last frame clearing the line) carries on when resumed, in both methods. Before the
 * fix, resume() found no queue to send and no phase it knew to restart: the campaign hung.
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { PowerLine } from "../../../hal/mock/powerline";
import { Ms, Ph } from "../../../firmware/concentrator/campaign";
import { campaignNode } from "../../../bench/campaign-sim";
import { modelMeter, nodeName } from "../../../bench/model-meter";
import { unicastDestination } from "../../../bench/line-modem";
import { blockOf } from "../../../bench/image";
import { makeImage } from "../../harness/scripted-concentrator";

describe("a campaign paused between its broadcast and its next query", () => {
  for (const coded of [true, false]) {
    it(`${coded ? "coded" : "patent"}: resumes and updates every meter`, () => {
      const clock = new VirtualClock();
      const line = new PowerLine(clock, { bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, seed: 5, defaults: { loss: 0.05 }, route: (b) => { const d = unicastDestination(b); return d < 0 ? null : nodeName(d); } });
      const img = makeImage(3000, 200, { imageId: 4 });
      const ids = [9001, 9002, 9003];
      for (const id of ids) modelMeter(line, clock, id, { spareSlots: 20, rows: 20 }, id);
      const conc = campaignNode(line, clock);
      let code = -1;
      const camp = conc.start({
        session: img.session, block: (i) => blockOf(img, i), meters: ids, deadlineMs: 0, maxRounds: 30, noProgressRounds: 8,
        maxNoAnswer: 10, answerMs: 400, rebootMs: 2000, activateAt: 0, lineBitRate: 9600, frameOverhead: 16, hostBaud: 57600, coded,
      }, (c) => { code = c; });
      // until the broadcast's last frame has left: the campaign waits for the line to clear
      let paused = false;
      for (let t = 0; t < 20000 && !paused; t++) {
        clock.advance(5);
        if (camp.phase() === Ph.BROADCAST && conc.ep.pending() === 0 && camp.totals.blocks >= img.session.blockCount) { camp.pause(); paused = true; }
      }
      expect(paused).toBe(true);
      clock.advance(10_000);
      expect(camp.phase()).toBe(Ph.PAUSED);
      camp.resume();
      for (let t = 0; code < 0 && t < 100000; t++) clock.advance(Math.max(1, Math.min(60_000, clock.nextDue() - clock.now())));
      expect(code).toBe(0);
      for (let i = 0; i < ids.length; i++) expect(camp.state(i)).toBe(Ms.ACTIVATED);
    });
  }
});
