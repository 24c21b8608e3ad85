/*
 * The coded method's group query on the simulated line, with the concentrator's campaign
 * engine and model meters (the meter's own decoder): replies that collide in a slot are
 * heard later, a meter that missed every copy of the broadcast control is found and caught
 * up on its own, and a meter that never answers is failed only after being asked on its own.
 * The read-back of unkeyed meters goes out in RESULT_LISTs, each meter answering in its own slot.
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../hal/mock/clock";
import { PowerLine } from "../../hal/mock/powerline";
import { P, T } from "../../firmware/protocol/catalogue";
import { bodyOf } from "../../tools/protocol/typed";
import { LIST_TRIES, Ms, RESULT_PER_FRAME, type CampaignConfig } from "../../firmware/concentrator/campaign";
import { decodeMsg, newMsg } from "../../firmware/protocol/codec";
import { campaignNode } from "../../bench/campaign-sim";
import { modelMeter, nodeName } from "../../bench/model-meter";
import { unicastDestination } from "../../bench/line-modem";
import { blockOf } from "../../bench/image";
import { makeImage } from "../harness/scripted-concentrator";

function setup(n: number, loss: number, seed: number) {
  const clock = new VirtualClock();
  const line = new PowerLine(clock, {
    bitRate: 9600, overheadBytes: 16, turnaroundMs: 5, seed, defaults: { loss }, log: true,
    route: (b) => { const d = unicastDestination(b); return d < 0 ? null : nodeName(d); },
  });
  const img = makeImage(8000, 200, { imageId: 3 });
  const ids = Array.from({ length: n }, (_, i) => 7000 + i);
  const meters = ids.map((id) => modelMeter(line, clock, id, { spareSlots: 40, rows: 40 }, seed + id));
  const conc = campaignNode(line, clock);
  const cfg = (o: Partial<CampaignConfig>): CampaignConfig => ({
    session: img.session, block: (i) => blockOf(img, i), meters: ids, deadlineMs: 0, maxRounds: 30, noProgressRounds: 8,
    maxNoAnswer: 4, answerMs: 400, rebootMs: 2000, activateAt: 0, lineBitRate: 9600, frameOverhead: 16, hostBaud: 57600, coded: true, ...o,
  });
  const run = (c: CampaignConfig) => {
    let code = -1;
    const camp = conc.start(c, (x) => { code = x; });
    for (let t = 0; code < 0 && t < 100000; t++) clock.advance(Math.max(1, Math.min(60_000, clock.nextDue() - clock.now())));
    return { camp, code };
  };
  /** Frames the concentrator sent to meter `id` alone, by type. */
  const unicastTo = (id: number, type: number) => line.log.filter((f) => f.from === "conc" && f.bytes[1] === type && f.bytes[9] === P.TO_METER && unicastDestination(f.bytes) === id).length;
  /** Frames of `type` the concentrator sent. */
  const sent = (type: number) => line.log.filter((f) => f.from === "conc" && f.bytes[1] === type).length;
  /** RESULT_LIST frames (among the first `before` logged) that named meter `id`. */
  const namedInLists = (id: number, before = line.log.length) => line.log.slice(0, before).filter((f) => {
    if (f.from !== "conc" || f.bytes[1] !== T.RESULT_LIST) return false;
    const m = newMsg();
    decodeMsg(f.bytes, f.bytes.length, m);
    return bodyOf(m, T.RESULT_LIST)!.ids.some((e) => e.id === id);
  }).length;
  return { clock, line, ids, meters, conc, cfg, run, unicastTo, sent, namedInLists };
}

describe("the coded campaign's group query", () => {
  it("hears meters whose deficits collided in a slot in a later query, and every meter ends activated", () => {
    // the concentrator plans for 2% loss on a 25% line: after the first pass most meters are
    // unfinished, and the first query's few slots are shared by many answers
    const s = setup(24, 0.25, 11);
    const { camp, code } = s.run(s.cfg({ planLoss: 0.02, maxNoAnswer: 10, silentMs: 600_000 }));
    expect(code).toBe(0);
    expect(s.line.node("conc").counters.rxCollided).toBeGreaterThan(0);
    for (let i = 0; i < s.ids.length; i++) expect(camp.state(i), `meter ${s.ids[i]}`).toBe(Ms.ACTIVATED);
    expect(s.meters.every((m) => m.state() === 6)).toBe(true);
    // one query a round to the whole group, not one per meter
    const queries = s.line.log.filter((f) => f.from === "conc" && f.bytes[1] === T.GROUP_QUERY).length;
    expect(queries).toBeLessThanOrEqual(camp.totals.polls);
    expect(queries).toBeLessThan(s.ids.length);
  });

  it("catches up on its own a meter that missed every copy of the selection and the control", () => {
    const s = setup(6, 0.05, 12);
    const late = s.ids[2];
    // nothing from the concentrator reaches it for the first 3 s: the selection and the control go by
    s.line.link("conc", nodeName(late), { loss: 1 }, true);
    s.clock.setTimeout(() => s.line.link("conc", nodeName(late), { loss: 0.05 }, true), 3000);
    const { camp, code } = s.run(s.cfg({ planLoss: 0.05 }));
    expect(code).toBe(0);
    for (let i = 0; i < s.ids.length; i++) expect(camp.state(i), `meter ${s.ids[i]}`).toBe(Ms.ACTIVATED);
    // the others took the broadcast control; only the late one got a control addressed to it
    expect(s.unicastTo(late, T.UPDATE_CONTROL)).toBeGreaterThanOrEqual(1);
    for (const id of s.ids) if (id !== late) expect(s.unicastTo(id, T.UPDATE_CONTROL), `meter ${id}`).toBe(0);
  });

  it("fails a meter that never answers only after asking it on its own, and updates the rest", () => {
    const s = setup(5, 0.05, 13);
    const dead = s.ids[4];
    s.line.detach(s.line.node(nodeName(dead)));
    const { camp, code } = s.run(s.cfg({ silentMs: 0 }));
    expect(code).toBe(0);
    expect(camp.state(4)).toBe(Ms.FAILED);
    expect(camp.codeOf(4)).toBe(94);
    // silence in the group query and in the read-back lists proved nothing: named in LIST_TRIES
    // lists, then asked by address until maxNoAnswer requests in all went unanswered
    expect(s.namedInLists(dead)).toBe(LIST_TRIES);
    expect(s.unicastTo(dead, T.STATUS_QUERY)).toBe(4 - LIST_TRIES);
    for (let i = 0; i < 4; i++) expect(camp.state(i)).toBe(Ms.ACTIVATED);
  });

  it("reads back unkeyed meters in RESULT_LISTs, 55 a frame, and asks by address only those the lists did not hear", () => {
    const s = setup(120, 0, 14);
    const { camp, code } = s.run(s.cfg({ planLoss: 0.05 }));
    expect(code).toBe(0);
    for (let i = 0; i < s.ids.length; i++) expect(camp.state(i), `meter ${s.ids[i]}`).toBe(Ms.ACTIVATED);
    // a lossless line: every meter confirmed by the lists, ceil(120 / 55) of them, in slots that never collide
    expect(s.sent(T.RESULT_LIST)).toBe(Math.ceil(120 / RESULT_PER_FRAME));
    for (const id of s.ids) expect(s.unicastTo(id, T.STATUS_QUERY), `meter ${id}`).toBe(0);
    expect(s.line.node("conc").counters.rxCollided).toBe(0);

    // at 15% loss: a meter is asked by address only after LIST_TRIES lists went unanswered
    const l = setup(120, 0.15, 15);
    const r = l.run(l.cfg({ planLoss: 0.15, maxNoAnswer: 10 }));
    expect(r.code).toBe(0);
    for (let i = 0; i < l.ids.length; i++) expect(r.camp.state(i), `meter ${l.ids[i]}`).toBe(Ms.ACTIVATED);
    let asked = 0;
    for (const id of l.ids) {
      const first = l.line.log.findIndex((f) => f.from === "conc" && f.bytes[1] === T.STATUS_QUERY && f.bytes[9] === P.TO_METER && unicastDestination(f.bytes) === id);
      if (first < 0) continue;
      asked++;
      expect(l.namedInLists(id, first), `meter ${id}`).toBeGreaterThanOrEqual(LIST_TRIES);
    }
    // most meters answered a list
    expect(asked).toBeGreaterThan(0);
    expect(asked).toBeLessThan(l.ids.length / 4);
  });

  it("takes no list answer after the campaign was aborted or paused in the middle of a read-back list", () => {
    for (const stop of ["abort", "pause"] as const) {
      const s = setup(60, 0, 16);
      let code = -1;
      const camp = s.conc.start(s.cfg({ planLoss: 0.05 }), (x) => { code = x; });
      // run until the first RESULT_LIST is on the line, then stop 300 ms later, while its slots run
      const lists = () => s.sent(T.RESULT_LIST);
      for (let t = 0; lists() === 0 && t < 100000; t++) s.clock.advance(Math.max(1, Math.min(1000, s.clock.nextDue() - s.clock.now())));
      expect(lists()).toBe(1);
      s.clock.advance(300);
      if (stop === "abort") camp.abort(0); else camp.pause();
      const states = Array.from({ length: 60 }, (_, i) => camp.state(i));
      s.clock.advance(20_000);
      expect(Array.from({ length: 60 }, (_, i) => camp.state(i)), stop).toEqual(states);
      if (stop === "abort") expect(code).toBe(93);
      // the meters did answer in their slots: only the campaign no longer took the answers
      expect(s.line.log.filter((f) => f.from !== "conc" && f.bytes[1] === T.UPDATE_RESULT).length, stop).toBeGreaterThan(40);
    }
  });
});
