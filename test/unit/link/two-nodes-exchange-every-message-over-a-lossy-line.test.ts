import { describe, expect, it } from "vitest";
import { LinkRig, lineFor, type ModemKind, type RigNode } from "../../../bench/rig";
import { MESSAGES, plain, sampleMsg } from "../../harness/messages";
import { newMsg, type Msg } from "../../../firmware/protocol/codec";

const ACK = 0x2a;
const CONCENTRATOR = 0xffffffff;

/**
 * Sends every catalogue message from `from` to `to`, one at a time, resending until an
 * ACK comes back (the receiver ACKs every non-ACK message it gets, duplicates included).
 */
function exchange(rig: LinkRig, from: RigNode, to: RigNode): { attempts: number } {
  let attempts = 0;
  for (const def of MESSAGES) {
    if (def.type === ACK) continue;
    const m = sampleMsg(def, def.type, from.id, to.id);
    m.flags = 2; // reply wanted
    let acked = false;
    for (let tries = 0; tries < 30 && !acked; tries++) {
      attempts++;
      expect(from.ep.send(m)).toBe(0);
      const until = rig.clock.now() + 3000;
      while (rig.clock.now() < until && !acked) {
        rig.clock.advance(10);
        acked = from.inbox.some((x) => x.msg.type === ACK && x.msg.body.refSeq === m.seq && x.msg.body.refType === m.type);
      }
    }
    expect(acked, `${def.name} acknowledged`).toBe(true);
    const got = to.inbox.find((x) => x.msg.type === def.type && x.msg.seq === m.seq);
    expect(got, `${def.name} received`).toBeTruthy();
    expect(plain(got!.msg)).toEqual(plain(m));
  }
  return { attempts };
}

function ackEverything(n: RigNode, m: Msg): void {
  if (m.type === ACK) return;
  const a = newMsg();
  Object.assign(a, { type: ACK, seq: (m.seq + 1) & 0xffff, src: n.id, mode: 0, dst: m.src, body: { refType: m.type, refSeq: m.seq } });
  n.ep.send(a);
}

for (const kind of ["st7580", "transparent"] as ModemKind[]) {
  describe(`two nodes over ${kind} modems on a lossy line`, () => {
    it("exchange every message type both ways, through loss, bursts and bit errors", () => {
      const rig = new LinkRig(kind, lineFor(kind, 2024, {
        defaults: { loss: 0.1, ge: { pGoodToBad: 0.05, pBadToGood: 0.3, lossGood: 0, lossBad: 0.8 }, ber: 2e-5, snr: 21 },
      }));
      const conc = rig.add("concentrator", CONCENTRATOR, ackEverything);
      const meter = rig.add("meter", 1001, ackEverything);
      rig.start();
      const down = exchange(rig, conc, meter);
      const up = exchange(rig, meter, conc);
      const types = MESSAGES.length - 1;
      // loss made some retries necessary, but every message got through
      expect(down.attempts + up.attempts).toBeGreaterThan(2 * types);
      const lc = rig.line.node("meter").counters;
      expect(lc.rxLost + lc.rxCorrupted).toBeGreaterThan(0);
      if (kind === "transparent") expect(meter.modem.stats.rxBad + conc.modem.stats.rxBad).toBe(lc.rxCorrupted + rig.line.node("concentrator").counters.rxCorrupted);
      expect(meter.ep.stats.decodeErrors + conc.ep.stats.decodeErrors).toBe(0);
    });

    it("deliver group and broadcast messages to members only, and ignore other meters' unicasts", () => {
      const rig = new LinkRig(kind, lineFor(kind, 7));
      const conc = rig.add("concentrator", CONCENTRATOR);
      const a = rig.add("a", 1, undefined);
      const b = rig.add("b", 2, undefined);
      a.groups.push(77);
      rig.start();
      const send = (mode: number, dst: number) => {
        const m = sampleMsg(MESSAGES.find((x) => x.name === "TIME_SET")!, mode * 10 + dst, CONCENTRATOR, dst);
        m.mode = mode;
        conc.ep.send(m);
        rig.clock.advance(2000);
      };
      send(1, 77); // group 77: a only
      send(2, 0xffffffff); // everyone
      send(0, 2); // b only
      expect(a.inbox.map((x) => x.msg.mode)).toEqual([1, 2]);
      expect(b.inbox.map((x) => x.msg.mode)).toEqual([2, 0]);
      expect(a.ep.stats.notForUs).toBe(1);
      expect(b.ep.stats.notForUs).toBe(1);
    });
  });
}
