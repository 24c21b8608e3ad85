/*
 * Discovery is how a meter joins a concentrator: a reply names the meter's concentrator
 * (DISCOVER_REPLY home). Concentrator 7 registers its own meters at once, never a
 * neighbour's, and a meter with none only after the rounds, once the meter acknowledged the
 * claim (CONFIG_SET HOME 7): a meter a neighbour took meanwhile stays out.
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../hal/mock/clock";
import { discover } from "../../../firmware/concentrator/discovery";
import { registry } from "../../../firmware/concentrator/registry";
import { newMsg, setMsg, type Msg } from "../../../firmware/protocol/codec";
import { Err } from "../../../firmware/common/errors";
import { P, T } from "../../../firmware/protocol/catalogue";
import type { Endpoint } from "../../../firmware/link/endpoint";

function setup(answer: (id: number) => number) {
  const clock = new VirtualClock();
  const reg = registry(16);
  const sent: Msg[] = [];
  const claims: { id: number; value: number[] }[] = [];
  let result: number[] | null = null;
  const ep = { send: (m: Msg) => { sent.push({ ...m, body: { ...m.body } }); return 0; } } as unknown as Endpoint;
  const d = discover(ep, clock, reg, { slots: 4, slotMs: 100, rounds: 3 }, () => 0.5, (n, theirs) => { result = [n, theirs]; }, 7, (id, value, done) => {
    claims.push({ id, value: Array.from(value) });
    // the meter's answer comes later, as on the line
    clock.setTimeout(() => done(answer(id)), 500);
  });
  const reply = (id: number, home: number) =>
    d.onMessage(setMsg(newMsg(), T.DISCOVER_REPLY, 1, id, P.TO_METER, P.CONC_BASE + 7, { nonce: sent[sent.length - 1].body.nonce, slot: 0, kind: 1, version: 3, home }));
  return { clock, reg, sent, claims, reply, result: () => result };
}

describe("discovery", () => {
  it("registers its own meters at once, claims those with none after the rounds and keeps only those that acknowledged, and leaves a neighbour's alone", () => {
    // 2002 was taken by a neighbour between its reply and the claim: it hears concentrator 7 no more
    const s = setup((id) => (id === 2002 ? Err.CAMPAIGN_NO_ANSWER : 0));
    expect(s.reply(1001, 7)).toBe(true); // ours already
    expect(s.reg.find(1001)).toBeGreaterThanOrEqual(0);
    expect(s.reply(2001, 0)).toBe(true); // no concentrator yet
    expect(s.reply(2002, 0)).toBe(true);
    expect(s.reply(3001, 9)).toBe(true); // concentrator 9's
    expect([2001, 2002, 3001].map((id) => s.reg.find(id))).toEqual([-1, -1, -1]);
    s.clock.advance(2400 + 1); // round 1 over: new answers, so round 2
    expect(s.sent.filter((m) => m.type === T.DISCOVER).length).toBe(2);
    expect(s.reply(2001, 0)).toBe(true); // again in round 2: claimed once
    expect(s.reply(3001, 9)).toBe(true);
    s.clock.advance(2400 + 1); // nothing new: the rounds end, the claims start
    expect(s.sent.filter((m) => m.type === T.DISCOVER).length).toBe(2);
    expect(s.claims).toEqual([{ id: 2001, value: [7, 0] }]);
    s.clock.advance(500);
    expect(s.claims.map((c) => c.id)).toEqual([2001, 2002]);
    expect(s.result()).toBeNull();
    s.clock.advance(500);
    expect(s.result()).toEqual([2, 1]); // 1001 and 2001 new; one neighbour's meter
    expect([1001, 2001].every((id) => s.reg.find(id) >= 0)).toBe(true);
    expect([2002, 3001].map((id) => s.reg.find(id))).toEqual([-1, -1]);
    const i = s.reg.find(2001);
    expect([s.reg.kind(i), s.reg.version(i)]).toEqual([1, 3]);
  });

  it("a meter of the registry that has no concentrator yet is claimed too (its reply brings another round), and not counted new", () => {
    const s = setup(() => 0);
    s.reg.add(1001, 1);
    s.reply(1001, 0);
    s.clock.advance(2401);
    expect(s.sent.filter((m) => m.type === T.DISCOVER).length).toBe(2);
    expect(s.claims).toEqual([]);
    s.clock.advance(2401);
    expect(s.claims.map((c) => c.id)).toEqual([1001]);
    s.clock.advance(500);
    expect(s.result()).toEqual([0, 0]);
  });
});
