import { describe, expect, it } from "vitest";
import { T } from "../../firmware/protocol/catalogue";
import { bodyOf } from "../../tools/protocol/typed";
import { LinkRig, bootMeter, lineFor } from "../../bench/rig";
import { CONC, makeProgramImage } from "../harness/scripted-concentrator";
import { campaign, checkpointInfo, unionRepair, type Campaign, type CampaignConfig } from "../../firmware/concentrator/campaign";
import { checkpoints } from "../../firmware/concentrator/checkpoint";
import { MockFlash } from "../../hal/mock/flash";
import { hostNative } from "../../hal/mock/native";
import { forEachMissing } from "../../firmware/protocol/missing";
import type { Msg } from "../../firmware/protocol/codec";


describe("a concentrator restart in the middle of a campaign", () => {
  it("resumes from its checkpoint and broadcasts only what the meters still miss", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 77, { defaults: { loss: 0.15 } }));
    let camp: Campaign | null = null;
    const conc = rig.add("conc", CONC, (_n, m: Msg) => { camp?.onMessage(m); });
    const ids = Array.from({ length: 8 }, (_, i) => 8100 + i);
    for (const id of ids) bootMeter(rig, `m${id}`, id, { version: 1, autoRestart: true });
    rig.start();
    const img = makeProgramImage(2, 4000, 200, { imageId: 91 });
    const store = new MockFlash({ base: 0, size: 32768, writeAlign: 4, eraseUnits: [{ addr: 0, size: 1024, count: 32 }] });
    const ck = checkpoints(store, { addr: 0, size: 16384 }, hostNative);
    const cfg = (): CampaignConfig => ({
      session: img.session, block: (i) => img.bytes.slice(i * 200, Math.min(img.bytes.length, (i + 1) * 200)),
      meters: ids, deadlineMs: 0, maxRounds: 20, noProgressRounds: 4, maxNoAnswer: 4, answerMs: 3000, rebootMs: 15000, activateAt: 0,
      checkpoint: ck,
    });
    // count the data blocks the concentrator puts on the line
    let blocksSent = 0;
    let sentIndices: number[] = [];
    const send = conc.ep.send;
    conc.ep.send = (m) => {
      const e = send(m);
      const b = bodyOf(m, T.DATA_BLOCK);
      if (!e && b) { blocksSent++; sentIndices.push(b.index); }
      return e;
    };
    let result = -1;
    let clock = rig.clock.scope();
    camp = campaign(conc.ep, clock, cfg(), unionRepair, (c) => { result = c; });
    const original = conc.ep.events.sent;
    conc.ep.events.sent = (e) => { original(e); camp?.onSent(); };
    camp.start();
    // run until the first repair round has been decided, then pull the plug
    while (camp.totals.rounds < 1 || camp.phase() === 3) rig.clock.advance(50);
    clock.kill();
    camp = null;
    rig.clock.advance(20_000); // the concentrator is off; whatever it queued is gone
    // what the meters lack at the restart, from their own reports (past a report's window: unknown, so counted)
    const missingNow = new Set<number>();
    for (const id of ids) {
      const r = rig.meters.get(id)!.meter.receiver;
      if (r.state() !== 1) continue;
      const rep = { received: 0, firstMissing: 0, form: 0, base: 0, covers: 0, map: new Uint8Array(0) };
      r.report(rep);
      if (rep.form !== 0) forEachMissing(rep, img.session.blockCount, (b) => missingNow.add(b));
      for (let b = rep.base + rep.covers; b < img.session.blockCount; b++) missingNow.add(b);
    }
    // restart: a new campaign object from the checkpoint alone
    const saved = ck.load()!;
    const info = checkpointInfo(saved)!;
    expect(info.session.imageId).toBe(91);
    expect(info.meters).toEqual(ids);
    blocksSent = 0;
    sentIndices = [];
    clock = rig.clock.scope();
    camp = campaign(conc.ep, clock, { ...cfg(), session: info.session, meters: info.meters }, unionRepair, (c) => { result = c; }, saved);
    camp.start();
    expect(camp.phase()).toBe(3); // it asks first
    const end = rig.clock.now() + 3_600_000;
    while (result < 0 && rig.clock.now() < end) rig.clock.advance(100);
    expect(result).toBe(0);
    for (let i = 0; i < ids.length; i++) expect(camp.state(i)).toBe(6);
    // far fewer blocks than a fresh broadcast of the image, and only blocks some meter lacked
    expect(blocksSent).toBeLessThan(img.session.blockCount);
    expect(blocksSent).toBeGreaterThan(0);
    for (const b of sentIndices) expect(missingNow.has(b), `block ${b} went out again though every meter had it`).toBe(true);
    console.log(`restart: ${blocksSent} blocks sent after the restart for a ${img.session.blockCount}-block image`);
  }, 120_000);
});
