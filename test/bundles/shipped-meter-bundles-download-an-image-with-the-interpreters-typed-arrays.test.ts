/*
 * The shipped meter bundles take a whole download in the Espruino-shaped VM, where a
 * typed array's slice() gives a plain Array as on 2v29: the update control, the blocks,
 * a status report with the missing ones, then "download complete"; and the coded method's
 * download: a broadcast control, the blocks with some lost, a deficit in answer to the
 * group query, repair blocks, and the decoder recovering the rest. The TypeScript modules
 * run on Node's typed arrays, so only the shipped bundle shows what the board does
 * (a .slice() of the control's digest broke every update on the interpreter).
 */
import { describe, expect, it } from "vitest";
import { EspruinoDevice, standInModem } from "../harness/espruino-vm";
import { provisioningPlan } from "../../tools/flash/plan";
import { loadProfile } from "../../tools/profiles/profiles";
import { hostNative, hostNativeNoSha } from "../../hal/mock/native";
import { blockOf, imageOf } from "../../bench/image";
import { decodeMsg, encodeMsg, newMsg, setMsg } from "../../firmware/protocol/codec";
import { repairIndex, repairSets, xorInto } from "../../firmware/protocol/repair";

const C = 0xffffffff;

for (const board of ["ESPRUINOBOARD", "LINUX"]) {
  describe(`the shipped ${board} meter bundle`, () => {
    const meterOn = () => {
      const p = loadProfile(board);
      const dev = new EspruinoDevice({ profile: p });
      dev.run(provisioningPlan({ board, role: "meter", id: 31 }));
      dev.powerOn();
      const m = dev.global<any>("meterline");
      const sent = standInModem(dev, m.endpoint);
      // the board's own digest: SHA-256 chain where it has SHA-256, CRC-32 chain on the Original
      const bytes = new Uint8Array(4000).map((_, i) => (i * 7 + 3) & 0xff);
      const img = imageOf(bytes, { imageId: 9, version: 2, board: p.code, blockSize: 200 }, p.crypto.includes("SHA256") ? hostNative : hostNativeNoSha);
      let seq = 1;
      const deliver = (type: number, mode: number, body: object) => {
        const b = new Uint8Array(242);
        const n = encodeMsg(setMsg(newMsg(), type, seq++, C, mode, mode === 0 ? 31 : C, body), b);
        expect(n).toBeGreaterThan(0);
        // the frame as the board's own typed array (as the modem driver makes it), so every
        // array the bundle derives from it has the interpreter's methods
        const frame = dev.run(`new Uint8Array(${n})`) as Uint8Array;
        frame.set(b.subarray(0, n));
        m.endpoint.events.received(frame, n, 100);
        // a few milliseconds each: the whole exchange stays inside the real modem driver's
        // start-up timeout (nothing answers it here; the stand-in carries the frames)
        dev.clock.advance(2);
      };
      const replies = () => sent.splice(0).map((b) => { const r = newMsg(); expect(decodeMsg(b, b.length, r)).toBe(0); return r; });
      const block = (i: number) => deliver(0x42, 2, { imageId: 9, index: i, data: blockOf(img, i) });
      return { p, dev, m, img, s: img.session, deliver, replies, block };
    };

    it("downloads an image: control, blocks, the missing ones on request, then download complete", () => {
      const { p, m, s, deliver, replies, block } = meterOn();
      deliver(0x41, 0, { imageId: 9, version: 2, board: p.code, size: s.size, blockSize: 200, blockCount: 20, digest: s.digest, activateAt: 0, start: 1 });
      expect(replies().map((r) => [r.type, r.body.code])).toEqual([[0x2a, undefined]]); // ACK
      const missing = [3, 4, 11, 19];
      for (let i = 0; i < 20; i++) if (!missing.includes(i)) block(i);
      deliver(0x43, 0, { imageId: 9 });
      const [report] = replies();
      expect(report.type).toBe(0x44);
      expect(report.body.received).toBe(16);
      expect(report.body.firstMissing).toBe(3);
      missing.forEach(block);
      deliver(0x43, 0, { imageId: 9 });
      const [done] = replies();
      expect([done.type, done.body.imageId, done.body.version]).toEqual([0x45, 9, 2]);
      expect(m.receiver.state()).toBe(3); // verified
      expect(m.lastError()).toBe(0);
    });

    it("downloads an image by the coded method: broadcast control, lost blocks, a deficit, repair blocks decoded into place", () => {
      const { p, m, img, s, deliver, replies, block } = meterOn();
      // selected by a list, then the control to everyone (no answer to a broadcast)
      deliver(0x50, 2, { imageId: 9, ids: [{ id: 30 }, { id: 31 }] });
      deliver(0x41, 2, { imageId: 9, version: 2, board: p.code, size: s.size, blockSize: 200, blockCount: 20, digest: s.digest, activateAt: 0, start: 1 });
      expect(replies()).toEqual([]);
      const missing = [0, 5, 6, 13, 19];
      for (let i = 0; i < 20; i++) if (!missing.includes(i)) block(i);
      // the group query: it answers in its slot (one slot: at once) with its deficit
      deliver(0x4e, 2, { imageId: 9, who: 1, slots: 1, slotMs: 50 });
      const [d] = replies();
      expect(d.type).toBe(0x4f);
      expect([d.body.state, d.body.received, d.body.needed, d.body.code]).toEqual([1, 15, 5, 0]);
      expect(d.body.room).toBe(p.repairRows);
      // repair blocks as the concentrator makes them, until the meter has decoded the rest
      const sets = repairSets(20);
      let serial = 0;
      while (m.receiver.state() !== 3 && serial < 40) {
        const j = repairIndex(6, serial++), data = new Uint8Array(200), n = sets.set(j);
        for (let k = 0; k < n; k++) xorInto(data, blockOf(img, sets.out[k]));
        deliver(0x4d, 2, { imageId: 9, index: j, data });
      }
      expect(m.receiver.state()).toBe(3); // verified: the recovered blocks are the image's
      expect(serial).toBeLessThan(12);
      expect(m.receiver.received()).toBe(20);
      // complete: silent to the next group query, "download complete" when asked
      deliver(0x4e, 2, { imageId: 9, who: 1, slots: 1, slotMs: 50 });
      expect(replies()).toEqual([]);
      deliver(0x43, 0, { imageId: 9 });
      expect(replies().map((r) => r.type)).toEqual([0x45]);
      expect(m.lastError()).toBe(0);
    });
  });
}
