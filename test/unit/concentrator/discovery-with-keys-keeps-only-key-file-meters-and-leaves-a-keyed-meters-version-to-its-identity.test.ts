/*
 * A DISCOVER_REPLY answers a broadcast whose nonce was on the line, so anyone can send one.
 * With a key file, discovery keeps only the meters in it, and never rewrites a known keyed
 * meter's kind or version (its authenticated IDENTITY says those): a stranger can neither
 * fill the registry, which is kept in Storage, with made-up ids, nor make a keyed meter look
 * updated or outdated (docs/security.md). Without keys nothing changes.
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { discover } from "../../../firmware/concentrator/discovery";
import { registry } from "../../../firmware/concentrator/registry";
import { decodeMsg, newMsg, setMsg, type Msg } from "../../../firmware/protocol/codec";
import { P, T } from "../../../firmware/protocol/catalogue";
import type { Endpoint } from "../../../firmware/link/endpoint";
import { keyedCampaign } from "../../harness/keyed-campaign";
import { encodeMsg } from "../../../firmware/protocol/codec";

/**
 * A discovery (by concentrator 1) over an endpoint that records what it sends; `reply(id, kind,
 * version)` answers the last DISCOVER as a meter of concentrator 1's (registered at once: meters
 * without one are claimed first, discovery-claims-...test.ts).
 */
function setup(keyed?: (id: number) => boolean) {
  const clock = new VirtualClock();
  const changes: number[] = [];
  const reg = registry(16, (i) => changes.push(i));
  let last: Msg | null = null;
  const ep = { send: (m: Msg) => { last = { ...m, body: { ...m.body } }; return 0; } } as unknown as Endpoint;
  const d = discover(ep, clock, reg, { slots: 4, slotMs: 100, rounds: 2 }, () => 0.5, () => {}, 1, () => { throw new Error("no claim expected"); }, keyed);
  const reply = (id: number, kind: number, version: number) =>
    d.onMessage(setMsg(newMsg(), T.DISCOVER_REPLY, 1, id, P.TO_METER, P.BROADCAST_ID, { nonce: last!.body.nonce, slot: 0, kind, version, home: 1 }));
  return { reg, changes, reply };
}

describe("discovery", () => {
  it("with keys: a made-up id is not kept, a key-file meter is, and a known keyed meter's kind and version stay its identity's", () => {
    const { reg, changes, reply } = setup((id) => id === 1001 || id === 1002);
    reg.add(1001, 0);
    reg.setInfo(reg.find(1001), 1, 7); // what its authenticated IDENTITY said
    const before = changes.length;
    for (let id = 5000; id < 5020; id++) expect(reply(id, 1, 99)).toBe(true); // taken as an answer, not kept
    expect([5000, 5019].map((id) => reg.find(id))).toEqual([-1, -1]);
    expect(reg.count()).toBe(1);
    reply(1001, 2, 1); // in 1001's name: older version, another kind
    const i = reg.find(1001);
    expect([reg.kind(i), reg.version(i)]).toEqual([1, 7]);
    reply(1002, 3, 0xffffffff); // a new key-file meter: registered, its kind and version unknown (0) until its IDENTITY
    const j = reg.find(1002);
    expect(j).toBeGreaterThanOrEqual(0);
    expect([reg.kind(j), reg.version(j)]).toEqual([0, 0]);
    // what was written: 1001's discovered flag and 1002's entry, nothing for the made-up ids
    expect(changes.slice(before).every((k) => k === i || k === j)).toBe(true);
  });

  it("without keys: every reply is kept with its kind and version, as before", () => {
    const { reg, reply } = setup();
    reg.add(1001, 0);
    reg.setInfo(reg.find(1001), 1, 7);
    reply(1001, 2, 1);
    reply(5000, 1, 3);
    expect([reg.kind(reg.find(1001)), reg.version(reg.find(1001))]).toEqual([2, 1]);
    expect(reg.find(5000)).toBeGreaterThanOrEqual(0);
  });

  it("a keyed concentrator's own discovery keeps a stranger's made-up ids out of its registry", () => {
    const k = keyedCampaign([3001, 3002]);
    const stranger = k.rig.add("stranger", 0x12345);
    stranger.modem.start();
    k.rig.clock.advance(3000);
    const reg = k.conc.ctx.registry, before = reg.count();
    // the stranger answers each DISCOVER it hears in the names of made-up meters
    const conc = k.rig.line.node("conc") as unknown as { transmit: (b: Uint8Array) => number };
    const send = conc.transmit.bind(conc);
    conc.transmit = (b) => {
      const air = send(b);
      const m = newMsg();
      if (!decodeMsg(b, b.length, m) && m.type === T.DISCOVER) {
        for (let id = 6000; id < 6005; id++) {
          const f = setMsg(newMsg(), T.DISCOVER_REPLY, 1, id, P.TO_METER, m.src, { nonce: m.body.nonce, slot: 0, kind: 1, version: 9, home: 0 });
          const buf = new Uint8Array(242), len = encodeMsg(f, buf);
          k.rig.clock.setTimeout(() => k.rig.line.node("stranger").transmit(buf.slice(0, len)), 300 + 250 * (id - 6000));
        }
      }
      return air;
    };
    let found = -1;
    expect(k.conc.ctx.discover({ slots: 4, slotMs: 200, rounds: 2 }, (n) => { found = n; })).toBe(0);
    for (let t = 0; found < 0 && t < 60; t++) k.rig.clock.advance(1000);
    expect(found).toBe(0);
    expect(reg.count()).toBe(before);
    expect(reg.find(6000)).toBe(-1);
  });
});
