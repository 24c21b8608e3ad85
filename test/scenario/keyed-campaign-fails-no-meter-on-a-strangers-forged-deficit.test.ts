/*
 * A keyed meter answers the coded campaign's GROUP_QUERY in the clear (a DEFICIT answers a
 * broadcast and spends no counter), so anyone may send one in its name. A stranger's DEFICIT
 * saying "no session, refused with 80" used to make the concentrator fail every keyed meter
 * mid-download; now such an answer only gets the meter asked by address, and only its
 * authenticated answer can fail it (docs/security.md, threat model).
 */
import { describe, expect, it } from "vitest";
import { Ms } from "../../firmware/concentrator/campaign";
import { encodeMsg, decodeMsg, newMsg } from "../../firmware/protocol/codec";
import { Err } from "../../firmware/common/errors";
import { P, T } from "../../firmware/protocol/catalogue";
import { keyedCampaign } from "../harness/keyed-campaign";

describe("a keyed coded campaign", () => {
  it("fails no meter on forged DEFICITs after each group query: every meter is still activated", () => {
    const ids = [3001, 3002, 3003];
    const k = keyedCampaign(ids);
    const stranger = k.rig.add("stranger", 0x12345);
    stranger.modem.start();
    k.rig.clock.advance(3000);
    // after every GROUP_QUERY the concentrator sends, one forged DEFICIT in each meter's name
    const conc = k.rig.line.node("conc") as unknown as { transmit: (b: Uint8Array) => number };
    const send = conc.transmit.bind(conc);
    const m = newMsg();
    let forged = 0;
    conc.transmit = (b) => {
      const air = send(b);
      if (!decodeMsg(b, b.length, m) && m.type === T.GROUP_QUERY) {
        const imageId = m.body.imageId;
        ids.forEach((id, n) => k.rig.clock.setTimeout(() => {
          const f = newMsg();
          Object.assign(f, { type: T.DEFICIT, seq: 1, src: id, mode: P.TO_METER, dst: P.BROADCAST_ID, flags: 0, body: { imageId, state: 0, received: 0, needed: 0, room: 0, code: Err.UPDATE_WRONG_BOARD } });
          const buf = new Uint8Array(242), len = encodeMsg(f, buf);
          k.rig.line.node("stranger").transmit(buf.slice(0, len));
          forged++;
        }, 400 + 300 * n));
      }
      return air;
    };
    const { camp, code } = k.run(true);
    expect(forged).toBeGreaterThanOrEqual(ids.length);
    expect(code).toBe(0);
    // before: [FAILED, FAILED, FAILED] with code 80, the meters left in the middle of their download
    expect(ids.map((_, i) => camp.state(i))).toEqual(ids.map(() => Ms.ACTIVATED));
    expect(ids.map((_, i) => camp.codeOf(i))).toEqual(ids.map(() => 0));
  });
});
