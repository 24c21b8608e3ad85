import { describe, expect, it } from "vitest";
import { LinkRig, bootMeter, lineFor } from "../../bench/rig";
import { CONC, controlBody, download, makeImage, msg, request } from "../harness/scripted-concentrator";
import { blockAddr, bufferLayout } from "../../firmware/common/update-image";
import { T } from "../../firmware/protocol/catalogue";


/** 20% average loss in bursts: bad state a quarter of the time, losing 80% there. */
const BURSTY = { ge: { pGoodToBad: 0.1, pBadToGood: 0.3, lossGood: 0, lossBad: 0.8 }, snr: 18 };

describe("a meter downloading an image over the simulated line", () => {
  for (const kind of ["st7580", "transparent"] as const) {
    it(`completes through 20% burst loss (${kind}), storing the image in its buffer region only`, () => {
      const rig = new LinkRig(kind, lineFor(kind, 99, { defaults: BURSTY }));
      const conc = rig.add("conc", CONC);
      const m = bootMeter(rig, "m1", 1001);
      rig.start();
      const img = makeImage(kind === "st7580" ? 12000 : 4000, 192);
      const ack = request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), 1001));
      expect(ack?.type).toBe(T.ACK);
      const before = m.flash.snapshot().bytes;
      const res = download(rig, conc, [1001], img);
      expect(res.complete).toEqual([1001]);
      expect(res.rounds).toBeGreaterThan(1); // loss made repair rounds necessary
      expect(m.meter.receiver.state()).toBe(3); // verified
      expect(m.meter.receiver.stats.stored).toBe(img.session.blockCount);
      // the blocks are in the buffer where the layout says, byte for byte
      const b = m.board.regions.buffer!;
      const lay = bufferLayout(b.addr, b.size, 1024, 192);
      for (let i = 0; i < img.session.blockCount; i++) {
        const want = img.bytes.subarray(i * 192, Math.min(img.bytes.length, (i + 1) * 192));
        expect([...m.flash.read(blockAddr(lay, i), want.length)]).toEqual([...want]);
      }
      // nothing outside the buffer and the state journal changed (registers and profile aside)
      const after = m.flash.snapshot().bytes;
      const r = m.board.regions;
      const allowed = [r.buffer!, r.state!, r.registers!, r.profile!];
      for (let a = 0; a < after.length; a += 4) {
        if (after[a] === before[a] && after[a + 1] === before[a + 1] && after[a + 2] === before[a + 2] && after[a + 3] === before[a + 3]) continue;
        const addr = m.board.flash.base + a;
        expect(allowed.some((x) => addr >= x.addr && addr < x.addr + x.size), `write at 0x${addr.toString(16)}`).toBe(true);
      }
    }, 60_000);
  }

  it("serves several meters at once and stops asking those that finished", () => {
    const rig = new LinkRig("st7580", lineFor("st7580", 5, { defaults: { loss: 0.1 } }));
    const conc = rig.add("conc", CONC);
    const ids = [11, 12, 13, 14];
    const meters = ids.map((id) => bootMeter(rig, `m${id}`, id));
    rig.start();
    const img = makeImage(6000, 200);
    for (const id of ids) expect(request(rig, conc, msg(T.UPDATE_CONTROL, controlBody(img.session), id))?.type).toBe(T.ACK);
    const res = download(rig, conc, ids, img);
    expect(res.complete.sort()).toEqual(ids);
    for (const m of meters) expect(m.meter.receiver.state()).toBe(3);
    // each meter counted duplicates for repair blocks it already had: union re-broadcast
    expect(meters.reduce((s, m) => s + m.meter.receiver.stats.duplicate, 0)).toBeGreaterThan(0);
  }, 60_000);
});
