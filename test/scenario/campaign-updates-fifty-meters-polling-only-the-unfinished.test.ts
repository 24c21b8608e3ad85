import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor } from "../../bench/rig";
import { CONC, makeProgramImage } from "../harness/scripted-concentrator";
import { campaign, unionRepair, type Campaign, type CampaignConfig } from "../../firmware/concentrator/campaign";
import { decodeMsg, newMsg, type Msg } from "../../firmware/protocol/codec";

const DOWNLOAD_COMPLETE = 0x45;
const MS = { DOWNLOADING: 1, ACTIVATED: 6, FAILED: 8 };

function setup(n: number, loss: number, o: Partial<CampaignConfig> = {}, seed = 50, repair = unionRepair) {
  const rig = new LinkRig("st7580", lineFor("st7580", seed, { defaults: { loss }, log: true }));
  let camp: Campaign | null = null;
  const completedIn = new Map<number, number>();
  const completedAt = new Map<number, number>();
  let round = 0;
  const conc = rig.add("conc", CONC, (_n, m: Msg) => {
    if (m.type === DOWNLOAD_COMPLETE && !completedIn.has(m.src)) { completedIn.set(m.src, round); completedAt.set(m.src, rig.clock.now()); }
    camp?.onMessage(m);
  });
  const ids = Array.from({ length: n }, (_, i) => 7000 + i);
  for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true });
  rig.start();
  const img = makeProgramImage(2, 3000, 200, { imageId: 77 });
  const polls: [number, number][] = [];
  let result = -1;
  const cfg: CampaignConfig = {
    session: img.session, block: (i) => img.bytes.slice(i * 200, Math.min(img.bytes.length, (i + 1) * 200)),
    meters: ids, deadlineMs: 0, maxRounds: 20, noProgressRounds: 4, maxNoAnswer: 4, answerMs: 3000, rebootMs: 15000, activateAt: 0,
    onPoll: (id, r) => { round = r; polls.push([id, r]); },
    ...o,
  };
  camp = campaign(conc.ep, rig.clock, cfg, repair, (code) => { result = code; });
  // pace the broadcast on the endpoint's sent events
  const original = conc.ep.events.sent;
  conc.ep.events.sent = (e) => { original(e); camp!.onSent(); };
  return { rig, conc, camp, ids, polls, completedIn, completedAt, result: () => result, img };
}

function run(rig: LinkRig, done: () => boolean, limitMs = 3_600_000) {
  const end = rig.clock.now() + limitMs;
  while (!done() && rig.clock.now() < end) rig.clock.advance(100);
}

describe("an update campaign on the simulated line", () => {
  it("brings 50 meters through 10% loss to the new program, polling only unfinished meters each round", () => {
    const { rig, camp, ids, polls, completedIn, completedAt, result } = setup(50, 0.1);
    camp.start();
    run(rig, () => result() >= 0);
    expect(result()).toBe(0);
    for (let i = 0; i < ids.length; i++) expect(camp.state(i), `meter ${ids[i]}`).toBe(MS.ACTIVATED);
    for (const id of ids) expect(rig.meters.get(id)!.meter.metering).toBeTruthy();
    // every meter now runs version 2, confirmed by the read-back exchange
    for (const id of ids) expect(rig.meters.get(id)!.meter.onTrial()).toBe(false);
    // a meter that reported complete in round r is never asked again after r
    for (const [id, r] of polls) {
      const done = completedIn.get(id);
      if (done !== undefined) expect(r, `meter ${id} polled in round ${r} after completing in round ${done}`).toBeLessThanOrEqual(done);
    }
    expect(camp.totals.rounds).toBeGreaterThan(1);
    // the first round asks everyone, later rounds fewer
    const perRound = new Map<number, number>();
    for (const [, r] of polls) perRound.set(r, (perRound.get(r) ?? 0) + 1);
    expect(perRound.get(1)).toBe(50);
    expect(perRound.get(2)!).toBeLessThan(50);
    // the same from the frames on the line: once the concentrator has received a meter's
    // DOWNLOAD_COMPLETE, no STATUS_QUERY to that meter goes on the line before the ACTIVATE
    // (a DOWNLOAD_COMPLETE lost on its way does not count: the concentrator never knew)
    const frames = rig.line.log.filter((f) => f.from === "conc").map((f) => { const m = newMsg(); return decodeMsg(f.bytes, f.bytes.length, m) ? null : { at: f.at, type: m.type, dst: m.dst }; });
    const activate = frames.find((x) => x?.type === 0x46)!;
    expect(activate).toBeTruthy();
    let queries = 0;
    for (const x of frames) {
      if (!x || x.type !== 0x43 || x.at >= activate.at) continue;
      queries++;
      const known = completedAt.get(x.dst);
      expect(known === undefined || x.at < known, `STATUS_QUERY to ${x.dst} at ${x.at} ms after its DOWNLOAD_COMPLETE arrived at ${known} ms`).toBe(true);
    }
    expect(queries).toBeGreaterThanOrEqual(camp.totals.polls - 5); // the line carried the polls (retries included)
    expect(completedAt.size).toBe(50);
    // the campaign's byte count is what the concentrator put on the line
    const onLine = rig.line.log.filter((f) => f.from === "conc").reduce((n, f) => n + f.bytes.length, 0);
    expect(camp.totals.bytes).toBeLessThanOrEqual(onLine);
    expect(camp.totals.bytes).toBeGreaterThan(onLine * 0.9);
    console.log(`campaign: ${camp.totals.rounds} rounds, ${camp.totals.blocks} blocks for a ${Math.ceil(3000 / 200)}-block image, ${camp.totals.polls} polls, ${camp.totals.frames} frames, ${camp.totals.bytes} bytes, airtime ${Math.round(rig.line.node("conc").counters.airtimeMs / 1000)} s at the concentrator, polls per round ${[...perRound.values()].join(",")}`);
  }, 120_000);

  it("fails a meter that stops answering and goes on with the rest", () => {
    const { rig, camp, ids, result } = setup(4, 0.02, { maxNoAnswer: 2 });
    // meter 7002 loses power for good before the campaign
    rig.meters.get(7002)!.powerOff();
    camp.start();
    run(rig, () => result() >= 0);
    expect(result()).toBe(0);
    expect([0, 1, 2, 3].map((i) => camp.state(i))).toEqual([MS.ACTIVATED, MS.ACTIVATED, MS.FAILED, MS.ACTIVATED]);
    expect(camp.codeOf(2)).toBe(94);
    void ids;
  }, 60_000);

  it("aborts at the round limit, at the deadline, and without progress, telling the meters", () => {
    // a line that drops most frames keeps meters unfinished
    const a = setup(3, 0.6, { maxRounds: 2, noProgressRounds: 0 }, 3);
    a.camp.start();
    run(a.rig, () => a.result() >= 0);
    expect(a.result()).toBe(91);
    const b = setup(3, 0.6, { deadlineMs: 20_000 }, 4);
    b.camp.start();
    run(b.rig, () => b.result() >= 0);
    expect(b.result()).toBe(90);
    const c = setup(2, 0.0, {}, 5);
    c.camp.start();
    run(c.rig, () => c.camp.phase() === 2); // the controls were taken; the broadcast began
    expect(c.rig.meters.get(7000)!.meter.receiver.state()).toBe(1);
    c.camp.abort(0);
    expect(c.result()).toBe(93);
    c.rig.clock.advance(3000); // the ABORT broadcast reached them
    for (const id of c.ids) expect(c.rig.meters.get(id)!.meter.receiver.state()).toBe(0);
    // a repair step that sends nothing: the missing blocks never shrink
    const d = setup(3, 0.3, { noProgressRounds: 2 }, 6, { blocks: () => [] });
    d.camp.start();
    run(d.rig, () => d.result() >= 0);
    expect(d.result()).toBe(92);
    expect(d.camp.totals.rounds).toBeGreaterThanOrEqual(3); // rounds nobody answered in do not count
  }, 120_000);
});
