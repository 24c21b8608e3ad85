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
import { bodyOf } from "../../tools/protocol/typed";
import { keyedCampaign } from "../harness/keyed-campaign";

/** Runs a keyed coded campaign where, after every GROUP_QUERY, a stranger answers in each meter's name with `body`. */
function forged(body: Record<string, number>) {
  const ids = [3001, 3002, 3003];
  const k = keyedCampaign(ids);
  const stranger = k.rig.add("stranger", 0x12345);
  stranger.modem.start();
  k.rig.clock.advance(3000);
  const conc = k.rig.line.node("conc") as unknown as { transmit: (b: Uint8Array) => number };
  const send = conc.transmit.bind(conc);
  const m = newMsg();
  let sent = 0;
  conc.transmit = (b) => {
    const air = send(b);
    const q = decodeMsg(b, b.length, m) ? null : bodyOf(m, T.GROUP_QUERY);
    if (q) {
      const imageId = q.imageId, to = m.src; // the concentrator's own address
      ids.forEach((id, n) => k.rig.clock.setTimeout(() => {
        const f = newMsg();
        Object.assign(f, { type: T.DEFICIT, seq: 1, src: id, mode: P.TO_METER, dst: to, flags: 0, body: { imageId, received: 0, needed: 0, room: 0, code: 0, ...body } });
        const buf = new Uint8Array(242), len = encodeMsg(f, buf);
        k.rig.line.node("stranger").transmit(buf.slice(0, len));
        sent++;
      }, 400 + 300 * n));
    }
    return air;
  };
  const { camp, code } = k.run(true);
  return { ids, camp, code, sent };
}

describe("a keyed coded campaign", () => {
  it("fails no meter on forged DEFICITs saying it has no session: every meter is still activated", () => {
    const { ids, camp, code, sent } = forged({ state: 0, code: Err.UPDATE_WRONG_BOARD });
    expect(sent).toBeGreaterThanOrEqual(ids.length);
    expect(code).toBe(0);
    // before: [FAILED, FAILED, FAILED] with code 80, the meters left in the middle of their download
    expect(ids.map((_, i) => camp.state(i))).toEqual(ids.map(() => Ms.ACTIVATED));
    expect(ids.map((_, i) => camp.codeOf(i))).toEqual(ids.map(() => 0));
  });

  it("is not aborted by forged DEFICITs saying a meter still lacks blocks: asked by address, the meters answer complete and are activated", () => {
    const { ids, camp, code, sent } = forged({ state: 1, needed: 10, room: 40 });
    expect(sent).toBeGreaterThanOrEqual(ids.length);
    // before: the campaign ended E92 CAMPAIGN_NO_PROGRESS with every meter verified and none activated
    expect(code).toBe(0);
    expect(ids.map((_, i) => camp.state(i))).toEqual(ids.map(() => Ms.ACTIVATED));
  });

  it("still catches up a keyed meter that really missed its authorisation and the control: it says so to the group query, is authorised and controlled by address, and is activated", () => {
    const ids = [3001, 3002, 3003];
    const k = keyedCampaign(ids);
    // meter 3002 hears none of the broadcast authorisations and controls
    const node = k.rig.line.node("m3002") as unknown as { receive: (b: Uint8Array, snr: number, bad: boolean) => void };
    const hear = node.receive.bind(node), m = newMsg();
    let missed = 0;
    node.receive = (b, snr, bad) => {
      if (!bad && !decodeMsg(b, b.length, m) && m.mode === P.TO_ALL && (m.type === T.AUTHORIZE_LIST || m.type === T.UPDATE_CONTROL)) { missed++; return; }
      hear(b, snr, bad);
    };
    const { camp, code } = k.run(true);
    expect(missed).toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(ids.map((_, i) => camp.state(i))).toEqual(ids.map(() => Ms.ACTIVATED));
    // it got its own AUTHORIZE and UPDATE_CONTROL, addressed
    const addressed = k.rig.line.log.filter((f) => f.from === "conc").map((f) => { const x = newMsg(); decodeMsg(f.bytes, f.bytes.length, x); return x; })
      .filter((x) => x.mode === P.TO_METER && x.dst === 3002).map((x) => x.type);
    expect(addressed).toContain(T.AUTHORIZE);
    expect(addressed).toContain(T.UPDATE_CONTROL);
  });
});
