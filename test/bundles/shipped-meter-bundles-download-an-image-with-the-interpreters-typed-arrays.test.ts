/*
 * The shipped meter bundles take a whole download in the Espruino-shaped VM, where a
 * typed array's slice() gives a plain Array as on 2v29: the update control, the blocks,
 * a status report with the missing ones, then "download complete". The TypeScript modules
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

const C = 0xffffffff;

for (const board of ["ESPRUINOBOARD", "LINUX"]) {
  describe(`the shipped ${board} meter bundle`, () => {
    it("downloads an image: control, blocks, the missing ones on request, then download complete", () => {
      const p = loadProfile(board);
      const dev = new EspruinoDevice({ profile: p });
      dev.run(provisioningPlan({ board, role: "meter", id: 31 }));
      dev.powerOn();
      const m = dev.global<any>("meterline");
      const sent = standInModem(dev, m.endpoint);
      // the board's own digest: SHA-256 chain where it has SHA-256, CRC-32 chain on the Original
      const bytes = new Uint8Array(4000).map((_, i) => (i * 7 + 3) & 0xff);
      const img = imageOf(bytes, { imageId: 9, version: 2, board: p.code, blockSize: 200 }, p.crypto.includes("SHA256") ? hostNative : hostNativeNoSha);
      const s = img.session;
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
      deliver(0x41, 0, { imageId: 9, version: 2, board: p.code, size: s.size, blockSize: 200, blockCount: 20, digest: s.digest, activateAt: 0, start: 1 });
      expect(replies().map((r) => [r.type, r.body.code])).toEqual([[0x2a, undefined]]); // ACK
      const missing = [3, 4, 11, 19];
      const block = (i: number) => deliver(0x42, 2, { imageId: 9, index: i, data: blockOf(img, i) });
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
  });
}
