/*
 * The link endpoint of a meter that has a concentrator (its settings' home, CONFIG key 12)
 * passes on only frames from that concentrator's address (0xFFFF0000 + home), addressed,
 * to a group or broadcast, and anyone's DISCOVER; a neighbour's frames are counted as not
 * for it, a malformed one included, and never reach authentication. home 0: every source.
 * The endpoint reads the setting at every frame (a change takes effect at once).
 */
import { describe, expect, it } from "vitest";
import { endpoint } from "../../../firmware/link/endpoint";
import { encodeMsg, newMsg, setMsg, type Msg } from "../../../firmware/protocol/codec";
import { P, T } from "../../../firmware/protocol/catalogue";

const ME = 1001, GROUP = 77;
const frame = (src: number, type: number, mode: number, dst: number, body: any) => {
  const b = new Uint8Array(P.MAX_FRAME);
  const n = encodeMsg(setMsg(newMsg(), type, 1, src, mode, dst, body), b);
  expect(n).toBeGreaterThan(0);
  return b.subarray(0, n);
};

function meterEndpoint() {
  const settings = { home: 0 };
  const got: { src: number; type: number }[] = [];
  const malformed: number[] = [];
  let opened = 0;
  const ep = endpoint(ME, 2, {
    message: (m: Msg) => got.push({ src: m.src, type: m.type }),
    ready: () => {},
    malformed: (m: Msg) => malformed.push(m.src),
    inGroup: (g) => g === GROUP,
    auth: { seal: () => 0, sign: () => {}, open: () => { opened++; return 0; } },
    peer: settings,
  });
  const hear = (f: Uint8Array) => ep.events.received(f, f.length, 0);
  return { ep, settings, got, malformed, hear, opened: () => opened };
}

const OURS = P.CONC_BASE + 2, THEIRS = P.CONC_BASE + 9;
const cases = (src: number) => [
  frame(src, T.READ_REQ, P.TO_METER, ME, { what: 1, obis: new Uint8Array(6).fill(255), from: 0, count: 0 }),
  frame(src, T.TIME_SET, P.TO_ALL, P.BROADCAST_ID, { time: 1_790_000_000 }),
  frame(src, T.STATUS_REQ, P.TO_GROUP, GROUP, {}),
];

describe("a meter's endpoint", () => {
  it("with no concentrator hears every source", () => {
    const e = meterEndpoint();
    for (const f of [...cases(OURS), ...cases(THEIRS)]) e.hear(f);
    expect(e.got.length).toBe(6);
  });

  it("with one hears it, addressed, grouped and broadcast, and only DISCOVER from a neighbour; the neighbour's frames never reach authentication", () => {
    const e = meterEndpoint();
    e.settings.home = 2;
    for (const f of cases(THEIRS)) e.hear(f);
    expect([e.got, e.ep.stats.notForUs, e.opened()]).toEqual([[], 3, 0]);
    e.hear(frame(THEIRS, T.DISCOVER, P.TO_ALL, P.BROADCAST_ID, { nonce: 5, slots: 4, slotMs: 100, unregistered: 0 }));
    expect(e.got).toEqual([{ src: THEIRS, type: T.DISCOVER }]);
    for (const f of cases(OURS)) e.hear(f);
    expect(e.got.map((x) => x.type)).toEqual([T.DISCOVER, T.READ_REQ, T.TIME_SET, T.STATUS_REQ]);
    // a neighbour's malformed frame addressed to it: not reported (no error answer to a neighbour)
    const bad = frame(THEIRS, T.READ_REQ, P.TO_METER, ME, { what: 1, obis: new Uint8Array(6), from: 0, count: 0 });
    e.hear(bad.subarray(0, bad.length - 3));
    expect(e.malformed).toEqual([]);
    const badOurs = frame(OURS, T.READ_REQ, P.TO_METER, ME, { what: 1, obis: new Uint8Array(6), from: 0, count: 0 });
    e.hear(badOurs.subarray(0, badOurs.length - 3));
    expect(e.malformed).toEqual([OURS]);
    // handed over to 9: from the next frame on, the other way round
    e.settings.home = 9;
    e.got.length = 0;
    for (const f of [...cases(OURS), ...cases(THEIRS)]) e.hear(f);
    expect(e.got.map((x) => x.src)).toEqual([THEIRS, THEIRS, THEIRS]);
  });
});
