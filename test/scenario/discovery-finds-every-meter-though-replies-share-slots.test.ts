import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor } from "../../bench/rig";
import { registry } from "../../firmware/concentrator/registry";
import { discover, type Discovery } from "../../firmware/concentrator/discovery";
import { Rng } from "../../hal/mock/rng";
import { newMsg, setMsg } from "../../firmware/protocol/codec";
import { Key, P, T } from "../../firmware/protocol/catalogue";

/** The concentrator's id: its address is P.CONC_BASE + it. */
const CONC_ID = 5, CONC = P.CONC_BASE + CONC_ID;

describe("discovery", () => {
  it("finds all 30 meters over rounds of random reply slots, sharing slots, with their kind and version, and each one takes the concentrator", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 31, { defaults: { loss: 0.05 } }));
    let d: Discovery | null = null;
    // the claims: CONFIG_SET HOME to one meter at a time, tried again until it acknowledges
    let claiming: { id: number; seq: number; done: (code: number) => void } | null = null;
    const conc = rig.add("conc", CONC, (_n, m) => {
      if (claiming && m.type === T.ACK && m.src === claiming.id && m.body.refSeq === claiming.seq) { const c = claiming; claiming = null; c.done(0); return; }
      d?.onMessage(m);
    });
    let seq = 0;
    const claim = (id: number, value: Uint8Array, done: (code: number) => void) => {
      const c = { id, seq: ++seq, done };
      claiming = c;
      conc.ep.send(setMsg(newMsg(), T.CONFIG_SET, c.seq, CONC, P.TO_METER, id, { key: Key.HOME, value }));
      rig.clock.setTimeout(() => { if (claiming === c) { claiming = null; claim(id, value, done); } }, 3000);
    };
    const ids = Array.from({ length: 30 }, (_, i) => 9000 + i * 7);
    ids.forEach((id, i) => bootMeter(rig, `m${id}`, id, { version: 3, kind: 1 + (i % 3) }));
    rig.start();
    const reg = registry(100);
    reg.add(9000, 1); // one configured already
    const rng = new Rng(5);
    let found = -1;
    d = discover(conc.ep, rig.clock, reg, { slots: 16, slotMs: 150, rounds: 10 }, () => rng.next(), (n) => { found = n; }, CONC_ID, claim);
    const end = rig.clock.now() + 600_000;
    while (found < 0 && rig.clock.now() < end) rig.clock.advance(100);
    expect(found).toBe(29);
    expect(reg.count()).toBe(30);
    ids.forEach((id, i) => {
      const k = reg.find(id);
      expect(k).toBeGreaterThanOrEqual(0);
      expect([reg.kind(k), reg.version(k)]).toEqual([1 + (i % 3), 3]);
    });
    // every meter hears this concentrator only from now on
    for (const id of ids) expect(rig.meters.get(id)!.meter.metering.settings.home).toBe(CONC_ID);
    // 30 replies in 16 slots: the modems' carrier sense queues replies that share a slot, and
    // the ones lost on the line come back in a later round
  }, 60_000);
});
